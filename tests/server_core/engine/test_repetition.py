"""Repetition loops: found when a sentence repeats, also across the prompt's previous text."""

from __future__ import annotations

from server_core.engine.stopping import find_repetition

SENTENCE = list(range(100, 114))  # "And so, you know, you're going to be able to do it." ~14 tokens


def test_a_long_sentence_said_twice_in_a_row_is_a_loop() -> None:
    assert find_repetition(SENTENCE + SENTENCE) == len(SENTENCE)  # the first one stays
    assert find_repetition([1, 2, 3] + SENTENCE * 3) == 3 + len(SENTENCE)


def test_a_loop_fed_by_the_prompt_cuts_every_new_token() -> None:
    context, committed, new = [7, 8] + SENTENCE, [], SENTENCE[:]
    cut = find_repetition(context + committed + new)
    assert cut is not None and cut - len(context) - len(committed) <= 0


def test_ordinary_text_and_short_echoes_are_not_loops() -> None:
    assert find_repetition(list(range(200))) is None
    assert find_repetition([5, 6, 9, 5, 6]) is None  # "no, no" once is speech
    assert find_repetition([1, 2, 3, 4, 9, 1, 2, 3, 4]) is None  # not adjacent
