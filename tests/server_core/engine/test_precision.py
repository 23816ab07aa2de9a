"""int8 precision: every linear layer quantised, and the model still transcribes."""

from __future__ import annotations

import pytest
import whisper
from torch import nn

from server_core.audio.files import read_wav
from server_core.engine.precision import apply_precision
from server_core.models import load_model
from server_core.wer import wer

pytestmark = pytest.mark.model


def test_int8_quantises_every_linear_layer_and_keeps_the_words(speech_dir) -> None:
    model = load_model("tiny.en")
    model.eval()
    audio = read_wav(speech_dir / "ls_2412_153948_0000.wav")
    reference = (speech_dir / "ls_2412_153948_0000.txt").read_text()
    fp32 = wer(reference, whisper.transcribe(model, audio, fp16=False)["text"])
    apply_precision(model, "int8")
    assert not any(type(m) in (nn.Linear, whisper.model.Linear) for m in model.modules())
    assert any(type(m).__module__.startswith("torch.ao") for m in model.modules())
    int8 = wer(reference, whisper.transcribe(model, audio, fp16=False)["text"])
    assert int8 <= fp32 + 0.05, (int8, fp32)


def test_unknown_precision_is_refused_with_the_choices() -> None:
    model = whisper.model.Whisper(
        whisper.model.ModelDimensions(80, 1500, 8, 1, 1, 51864, 448, 8, 1, 1)
    )
    with pytest.raises(ValueError, match="fp32, int8"):
        apply_precision(model, "fp16")
    apply_precision(model, "fp32")  # as trained: unchanged
    assert any(type(m) is whisper.model.Linear for m in model.modules())
