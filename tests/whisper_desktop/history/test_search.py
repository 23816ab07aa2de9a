"""History search folds case for all of Unicode, in the store and in the highlighted spans."""

from __future__ import annotations

from whisper_desktop.history.recorder import HistoryRecorder
from whisper_desktop.history.search import contains, match_spans
from whisper_desktop.history.store import HistoryStore


def test_store_search_folds_unicode_case(store: HistoryStore) -> None:
    rec = HistoryRecorder(store)
    rec.add("user", " Über die Straße gehen.", 0.0, 1.0, True)
    rec.add("user", " ΣΊΣΥΦΟΣ und ÅNGSTRÖM_1 100 percent", 1.0, 2.0, True)
    rec.close_all()
    assert [u.text for u in store.utterances(search="über")] == ["Über die Straße gehen."]
    assert [u.text for u in store.utterances(search="STRASSE")] == ["Über die Straße gehen."]
    assert len(store.utterances(search="σίσυφος")) == 1
    assert len(store.utterances(search="ångström_1")) == 1
    assert store.utterances(search="ångström%1") == []  # no LIKE wildcards
    assert store.utterances(search="100%") == []
    assert len(store.sessions(search="über")) == 1


def test_match_spans_point_into_the_original_text() -> None:
    text = "Über die Straße, über alles"
    assert match_spans(text, "über") == [(0, 4), (17, 21)]
    assert match_spans(text, "STRASSE") == [(9, 15)]  # ß folds to two characters
    assert [text[a:b] for a, b in match_spans(text, "sse")] == ["ße"]
    assert match_spans(text, "") == [] and match_spans(text, "xyz") == []
    assert contains("Ärger", "ärger") and not contains("Ärger", "arger") and not contains(None, "a")


def test_search_is_by_word_start_as_you_type(store: HistoryStore) -> None:
    texts = lambda q: [u.text for u in store.utterances(search=q)]  # noqa: E731
    assert len(texts("w")) == 3  # world, weather, words
    for typed in ("wea", "weather", "The weath", "weather is fi", "WEATHER IS FINE"):
        assert texts(typed) == ["The weather is fine today."], typed
    assert texts("eather") == []  # words match from their start
    assert texts("weather fine") == []  # the words in the order said, next to each other
    assert texts("fine today.") == ["The weather is fine today."]
    assert texts("today!") == []  # punctuation as typed


def test_the_index_follows_every_write(tmp_path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        sid = store.open_session("user")
        uid = store.save_utterance(sid, "user", 0.0, 1.0, "partial wor", False)
        assert [u.id for u in store.utterances(search="wor")] == [uid]
        store.save_utterance(sid, "user", 0.0, 2.0, "partial words, now Über", True, uid)
        assert store.utterances(search="wor")[0].text == "partial words, now Über"
        assert len(store.utterances(search="über")) == 1
        assert store.utterances(search="partial wor ")[0].id == uid
        store.delete_session(sid)
        assert store.utterances(search="partial") == []
        (n,) = store._db.execute("SELECT COUNT(*) FROM utterances_fts").fetchone()
        assert n == 0


def test_search_uses_the_fts5_index(store: HistoryStore) -> None:
    plan = store._db.execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM utterances_fts WHERE utterances_fts MATCH ?",
        ('"weather"*',),
    ).fetchall()
    assert any("VIRTUAL TABLE INDEX" in row[-1] for row in plan), plan


def test_an_older_history_is_indexed_when_opened(tmp_path) -> None:
    import sqlite3

    from whisper_desktop.history.store import SCHEMA

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)  # the schema before the index, with its rows
    old.executescript(SCHEMA)
    old.execute("INSERT INTO sessions (client_id, started_at) VALUES ('user', 1.0)")
    old.execute(
        'INSERT INTO utterances (session_id, client_id, start, "end", text, final, created_at)'
        " VALUES (1, 'user', 0, 1, 'Über die Straße gehen.', 1, 1.0)"
    )
    old.commit()
    old.close()
    with HistoryStore(path) as store:
        assert [u.text for u in store.utterances(search="strasse geh")] == [
            "Über die Straße gehen."
        ]
        assert store._db.execute("PRAGMA user_version").fetchone()[0] >= 1
    with HistoryStore(path) as again:  # indexed once, not twice
        (n,) = again._db.execute("SELECT COUNT(*) FROM utterances_fts").fetchone()
        assert n == 1
