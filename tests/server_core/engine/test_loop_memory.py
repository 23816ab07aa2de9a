"""A loop that comes back in the next step is caught there, on real weights and real speech.

Once a loop is caught, its text leaves the prompt; the decoder still searches it
(``StepRequest.loop_context``), so Whisper saying the same sentence again right away is cut.
"""

from __future__ import annotations

import pytest

from server_core.audio.files import read_wav
from server_core.config import DecodeOptions
from server_core.engine.alignatt import AlignAttDecoder, StepRequest
from server_core.engine.encoder import Encoder
from server_core.engine.window import WindowState
from server_core.models import load_model

pytestmark = pytest.mark.model


def test_text_dropped_after_a_loop_is_still_searched(speech_dir) -> None:
    model = load_model("tiny.en")
    model.eval()
    decoder = AlignAttDecoder(model, DecodeOptions(language="en"))
    audio = read_wav(speech_dir / "jfk_inaugural.wav")
    (features,) = Encoder(model, pad_seconds=4.0, bucket_seconds=1.0).encode([audio])
    tokenizer = decoder.tokenizer("en")
    prompt = decoder.prompt(tokenizer, [], [])

    def step(loop_context: list[int]):
        request = StepRequest(
            features, audio.shape[0], tokenizer, prompt, WindowState(), True,
            loop_context=loop_context,
        )  # fmt: skip
        return decoder.steps([request])[0]

    fresh = step([])
    said = tokenizer.decode(fresh.tokens)
    assert "fellow Americans" in said and not fresh.looped, said
    again = step(list(fresh.tokens))  # the same sentence was just dropped as a loop
    assert again.looped and again.stop_reason == "repetition"
    assert len(again.tokens) < len(fresh.tokens) // 2, tokenizer.decode(again.tokens)
