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
        if w.sessions.topLevelItem(i).text(1) == "You"
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


def _items(tree) -> list:
    return [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]


def test_sources_have_the_overlay_names(qtbot, store: HistoryStore) -> None:
    w = HistoryWindow(store)
    qtbot.addWidget(w)
    assert sorted(it.text(1) for it in _items(w.sessions)[1:]) == ["Phone 1", "System", "You"]
    assert [it.text(1) for it in _items(w.utterances)] == ["You", "System", "You", "Phone 1"]


def test_detail_view_and_copy(qtbot, store: HistoryStore) -> None:
    from PySide6.QtWidgets import QApplication

    w = HistoryWindow(store)
    qtbot.addWidget(w)
    w.show()
    assert not w.copy_button.isEnabled() and w.detail.toPlainText() == ""
    _items(w.utterances)[1].setSelected(True)
    assert "The weather is fine today." in w.detail.toPlainText()
    assert w.detail.toPlainText().startswith("System")
    QApplication.clipboard().clear()
    w.copy_button.click()
    assert QApplication.clipboard().text() == "The weather is fine today."
    _items(w.utterances)[2].setSelected(True)
    menu = w.utterance_menu()
    (copy,) = [a for a in menu.actions() if a.text() == "Copy"]
    assert copy.isEnabled()
    copy.trigger()
    assert QApplication.clipboard().text() == "The weather is fine today.\nSecond sentence here."
    w.utterances.clearSelection()
    assert not w.utterance_menu().actions()[0].isEnabled()


def test_search_matches_are_highlighted(qtbot, store: HistoryStore) -> None:
    from tests.support.qt import count_colour
    from whisper_desktop.widgets.highlight import HIGHLIGHT, highlighted_html

    assert highlighted_html("a <b> Über", "über").endswith(
        f'&lt;b&gt; <span style="background-color:{HIGHLIGHT}; color:#000000">Über</span>'
    )
    HistoryRecorder(store).add("user", " Größe über Über", 0.0, 1.0, True)
    w = HistoryWindow(store)
    qtbot.addWidget(w)
    w.resize(900, 500)
    w.show()
    assert count_colour(w.utterances.grab().toImage(), HIGHLIGHT, tol=10) == 0
    w.search.setText("ÜBER")
    qtbot.waitUntil(lambda: w.utterances.topLevelItemCount() == 1, timeout=3000)
    assert count_colour(w.utterances.grab().toImage(), HIGHLIGHT, tol=10) > 100
    _items(w.utterances)[0].setSelected(True)
    assert w.detail.toHtml().count(HIGHLIGHT) == 2  # both matches, in the detail view too


def test_delete_a_session_but_not_one_being_recorded(qtbot, store: HistoryStore) -> None:
    open_ids: set[int] = set()
    w = HistoryWindow(store, open_sessions=lambda: open_ids)
    qtbot.addWidget(w)
    assert not w.delete_button.isEnabled()  # "All sessions" is not deletable
    system = next(it for it in _items(w.sessions) if it.text(1) == "System")
    sid = system.data(0, 0x0100)
    w.sessions.clearSelection()
    system.setSelected(True)
    assert w.delete_button.isEnabled()
    assert w.session_menu().actions()[0].isEnabled()
    open_ids.add(sid)
    assert w.delete_selected_sessions(confirm=False) == 0
    assert "still being recorded" in w.status.text()
    open_ids.clear()
    assert w.delete_selected_sessions(confirm=False) == 1
    assert [s.client_id for s in store.sessions()] == ["phone-1", "user"]
    assert all(u.client_id != "system" for u in store.utterances())
    assert sorted(it.text(1) for it in _items(w.sessions)[1:]) == ["Phone 1", "You"]
    assert w.utterances.topLevelItemCount() == 3


def test_a_live_refresh_keeps_the_utterance_being_read(qtbot, store: HistoryStore) -> None:
    w = HistoryWindow(store)
    qtbot.addWidget(w)
    _items(w.utterances)[1].setSelected(True)
    HistoryRecorder(store).add("user", " new words arrive.", 0.0, 1.0, True)
    w.refresh()
    assert w.utterances.topLevelItemCount() == 5
    assert [u.text for u in w.selected_utterances()] == ["The weather is fine today."]
    assert "The weather is fine today." in w.detail.toPlainText()
