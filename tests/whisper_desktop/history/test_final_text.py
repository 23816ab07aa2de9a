"""The final pass's text in the history: it replaces an utterance's live text, which is kept;
search, exports and the history window read the final text; an older history is migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from whisper_desktop.history.exporters import export
from whisper_desktop.history.recorder import HistoryRecorder
from whisper_desktop.history.store import LIVE_TEXT_VERSION, SCHEMA, HistoryStore


def record_two_utterances(store: HistoryStore) -> HistoryRecorder:
    rec = HistoryRecorder(store, "tiny.en", "en")
    rec.session_started("user", started_at=1000.0)
    rec.add("user", " The letter", 0.5, 1.0, False)
    rec.add("user", " one.", 1.0, 1.8, True)
    rec.add("user", " Second line", 2.5, 3.5, True)
    return rec


def test_final_text_replaces_the_live_text_which_is_kept(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        rec = record_two_utterances(store)
        assert rec.revise("user", " The latter one.", 0.5)
        assert not rec.revise("user", "nothing began here", 9.0)
        rec.session_closed("user")
        first, second = store.utterances(client_id="user")
        assert (first.text, first.live_text) == ("The latter one.", "The letter one.")
        assert (second.text, second.live_text) == ("Second line", None)
        # search reads the final text, not the live one
        assert [u.text for u in store.utterances(search="latter")] == ["The latter one."]
        assert store.utterances(search="letter") == []
        txt = export(store.utterances(), "txt")
        assert "The latter one." in txt and "letter" not in txt
        srt = export(store.utterances(), "srt")
        assert "The latter one." in srt and "The letter" not in srt


def test_a_history_of_version_1_gets_the_live_text_column(tmp_path: Path) -> None:
    from whisper_desktop.history.store import FTS_SCHEMA, FTS_VERSION

    path = tmp_path / "v1.sqlite3"
    old = sqlite3.connect(path)
    old.create_function("history_fold", 1, str.lower)
    old.executescript(SCHEMA + FTS_SCHEMA)
    old.execute("INSERT INTO sessions (client_id, started_at) VALUES ('user', 1.0)")
    old.execute(
        'INSERT INTO utterances (session_id, client_id, start, "end", text, final, created_at)'
        " VALUES (1, 'user', 0, 1, 'Old words.', 1, 1.0)"
    )
    old.execute(f"PRAGMA user_version = {FTS_VERSION}")
    old.commit()
    old.close()
    with HistoryStore(path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == LIVE_TEXT_VERSION
        (u,) = store.utterances()
        assert (u.text, u.live_text) == ("Old words.", None)
        store.revise_utterance(u.id, "Old words, final.")
        assert [x.text for x in store.utterances(search="final")] == ["Old words, final."]
    with HistoryStore(path) as again:  # migrated once: opening it again changes nothing
        (u,) = again.utterances()
        assert (u.text, u.live_text) == ("Old words, final.", "Old words.")


def test_history_off_records_no_final_text(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        rec = record_two_utterances(store)
        rec.set_enabled(False)
        assert not rec.revise("user", "anything", 0.5)
        assert [u.text for u in store.utterances()] == ["The letter one.", "Second line"]
