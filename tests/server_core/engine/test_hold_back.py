"""A word that can still grow waits at the commit boundary (``held_back``), on tiny.en's
tokenizer: a number at the boundary ("200" of "two hundred eighty-nine"), and a word read
just before the boundary ("limit" of "limits")."""

from __future__ import annotations

from dataclasses import replace

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


@pytest.mark.model
def test_a_spoken_number_waits_for_its_next_words(speech_dir) -> None:
    """LJ Speech: "...used during the next fifteen or twenty years". Cut 0.3 s after
    "fifteen", a step of tiny.en reads "15" before the boundary; committed there, a number
    that went on ("fifteen hundred") could only become "15 100". It waits instead."""
    from server_core.audio.files import read_wav
    from server_core.engine.alignatt import AlignAttDecoder, StepRequest
    from server_core.engine.encoder import Encoder
    from server_core.engine.window import WindowState
    from server_core.models import load_model

    model = load_model("tiny.en")
    model.eval()
    audio = read_wav(speech_dir / "ljs_lj001_a_188s.wav")  # ljs_lj001_a, 188.0 to 195.1 s
    (features,) = Encoder(model, 2.0, 2.0, 2.0).encode([audio])

    def step(hold: bool | None) -> tuple[str, str]:
        options = DecodeOptions(language="en", agree_at_start=False)  # the default: held
        if hold is not None:
            options = replace(options, hold_numbers=hold)
        decoder = AlignAttDecoder(model, options)
        tok = decoder.tokenizer("en")
        request = StepRequest(
            features, audio.shape[0], tok, decoder.prompt(tok, [], []), WindowState(), False
        )
        result = decoder.steps([request])[0]
        return tok.decode(result.tokens), tok.decode(result.hypothesis)

    committed, _ = step(hold=False)
    assert committed.endswith("during the next 15"), committed  # the scenario
    committed, waiting = step(hold=None)
    assert committed.endswith("during the next"), committed
    assert waiting.startswith(" 15"), waiting
