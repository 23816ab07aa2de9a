"""WER: the project's normalization, jiwer's edit count."""

from __future__ import annotations

import pytest

from server_core.wer import edit_distance, normalize, wer


def test_edits_are_counted_word_by_word() -> None:
    ref = "the cat sat on the mat".split()
    assert edit_distance(ref, ref) == 0
    assert edit_distance(ref, "the cat sat on mat".split()) == 1  # a deletion
    assert edit_distance(ref, "the dog sat on the mat too".split()) == 2  # sub + insertion
    assert edit_distance(ref, []) == 6 and edit_distance([], ["a", "b"]) == 2


def test_wer_normalizes_both_sides_first() -> None:
    assert wer('Mr. Smith said: "Hello, world!"', "mister smith said hello world") == 0.0
    assert normalize("Twenty-five percent") == normalize("25%")
    assert wer("the quick brown fox", "the quick brown box") == pytest.approx(0.25)
    assert wer("", "") == 0.0 and wer("", "noise") == 1.0


def test_other_languages_use_the_basic_normalizer() -> None:
    assert wer("Über die Brücke, bitte.", "über die brücke bitte", english=False) == 0.0
