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
