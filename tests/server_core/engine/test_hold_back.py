"""A word that can still grow waits at the commit boundary (``held_back``), on tiny.en's
tokenizer: a number at the boundary ("200" of "two hundred eighty-nine"), and a word read
just before the boundary ("limit" of "limits")."""

from __future__ import annotations

import pytest
from whisper.tokenizer import get_tokenizer

from server_core.config import DecodeOptions
from server_core.engine.alignatt import held_back

LIMIT = 100  # the boundary frame of these steps


@pytest.fixture(scope="module")
def tokenizer():
    return get_tokenizer(False)  # tiny.en's vocabulary


def _hold(tokenizer, text: str, frames: list[int], numbers=True, hold_frames=0) -> str:
    tokens = tokenizer.encode(text)
    assert len(tokens) == len(frames), [tokenizer.decode([t]) for t in tokens]
    b = held_back(tokenizer, tokens, frames, len(tokens), LIMIT, numbers, hold_frames)
    return tokenizer.decode(tokens[:b])


def test_a_number_at_the_boundary_waits(tokenizer) -> None:
    assert _hold(tokenizer, " it cost 200", [10, 20, 60]) == " it cost"
    assert _hold(tokenizer, " it cost 200,", [10, 20, 60, 61]) == " it cost"
    assert _hold(tokenizer, " it cost 200", [10, 20, 60], numbers=False) == " it cost 200"


def test_a_number_followed_by_a_word_is_whole(tokenizer) -> None:
    assert _hold(tokenizer, " 15 or 20 years", [10, 20, 30, 40]) == " 15 or 20 years"


def test_a_word_read_just_before_the_boundary_waits(tokenizer) -> None:
    assert _hold(tokenizer, " the limit", [10, 95], hold_frames=8) == " the"
    assert _hold(tokenizer, " the limit", [10, 80], hold_frames=8) == " the limit"
    assert _hold(tokenizer, " the limit", [10, 95], hold_frames=0) == " the limit"


def test_hold_frames_is_checked() -> None:
    with pytest.raises(ValueError, match="hold_frames"):
        DecodeOptions(hold_frames=-1).validate()
