"""The history window (offscreen): lists sessions, searches, exports and refreshes."""

from __future__ import annotations

from tests.support.history_data import parse_srt
from whisper_desktop.history.recorder import HistoryRecorder
from whisper_desktop.history.store import HistoryStore
from whisper_desktop.widgets.history_window import HistoryWindow


def test_history_window_lists_searches_and_exports(qtbot, store: HistoryStore, tmp_path) -> None:
    w = HistoryWindow(store)
    qtbot.addWidget(w)
    w.show()
    assert w.sessions.topLevelItemCount() == 4  # "All sessions" + 3
    assert w.utterances.topLevelItemCount() == 4
    w.search.setText("fine")
    qtbot.waitUntil(lambda: w.utterances.topLevelItemCount() == 1, timeout=3000)
    assert w.utterances.topLevelItem(0).text(2) == "The weather is fine today."
    assert w.sessions.topLevelItemCount() == 2  # only the session that matches
    w.search.clear()
    qtbot.waitUntil(lambda: w.utterances.topLevelItemCount() == 4, timeout=3000)
    user_item = next(
        w.sessions.topLevelItem(i)
        for i in range(w.sessions.topLevelItemCount())
        if w.sessions.topLevelItem(i).text(1) == "user"
    )
    w.sessions.clearSelection()
    user_item.setSelected(True)
    assert [w.utterances.topLevelItem(i).text(2) for i in range(2)] == [
        "Hello world.",
        "Second sentence here.",
    ]
    n = w.export_to(tmp_path / "user.srt", "srt")
    assert n == 2 and len(parse_srt((tmp_path / "user.srt").read_text())) == 2
    # new utterances show up on refresh
    HistoryRecorder(store).add("user", " late words.", 0.0, 1.0, True)
    w.sessions.clearSelection()
    w.refresh()
    assert w.utterances.topLevelItemCount() == 5
