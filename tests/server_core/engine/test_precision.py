"""Precisions: int8 linear layers and fp16 (layer norms fp32) still transcribe; auto picks."""

from __future__ import annotations

import pytest
import torch
import whisper
from torch import nn

from server_core.audio.files import read_wav
from server_core.config import DecodeOptions, EngineConfig, default_model, resolve_precision
from server_core.engine import Engine
from server_core.engine.precision import apply_precision, dtype_name
from server_core.models import load_model
from server_core.wer import wer
from tests.support.streaming import stream


def _tiny_model() -> whisper.model.Whisper:
    return whisper.model.Whisper(
        whisper.model.ModelDimensions(80, 1500, 8, 1, 1, 51864, 448, 8, 1, 1)
    )


@pytest.mark.model
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
    model = _tiny_model()
    with pytest.raises(ValueError, match="fp32, bf16, fp16, int8"):
        apply_precision(model, "bf8")
    apply_precision(model, "fp32")  # as trained: unchanged
    assert any(type(m) is whisper.model.Linear for m in model.modules())
    assert dtype_name(model, "fp32") == "float32"


def test_fp16_halves_everything_but_the_layer_norms() -> None:
    model = _tiny_model()
    apply_precision(model, "fp16")
    norms = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    assert norms
    for name, p in model.named_parameters():
        assert p.dtype == (torch.float32 if id(p) in norms else torch.float16), name
    assert model.encoder.positional_embedding.dtype == torch.float16  # a buffer
    assert dtype_name(model, "fp16") == "float16"


def test_auto_precision_and_default_model_follow_the_device() -> None:
    assert resolve_precision("auto", "cuda") == "fp16"
    assert resolve_precision("auto", "cuda:1") == "fp16"
    assert resolve_precision("auto", "cpu", cpu_bf16=False) == "fp32"
    assert resolve_precision("auto", "cpu", cpu_bf16=True) == "bf16"
    assert resolve_precision("auto", "cuda", cpu_bf16=True) == "fp16"
    assert resolve_precision("fp32", "cuda") == "fp32"  # the flag that forces fp32
    assert resolve_precision("fp16", "cpu") == "fp16"  # by name only
    assert resolve_precision("int8", "cpu") == "int8"
    with pytest.raises(ValueError, match="int8 is for the CPU"):
        resolve_precision("int8", "cuda")
    with pytest.raises(ValueError, match="auto, fp32, bf16, fp16, int8"):
        resolve_precision("half", "cpu")
    assert (default_model("cuda"), default_model("cuda:0"), default_model("cpu")) == (
        "turbo",
        "turbo",
        "base",
    )


@pytest.mark.model
def test_engine_in_fp16_streams_the_words(speech_dir) -> None:
    """The engine's own encoder and batched decoder in fp16 (here on the CPU, where fp16 is
    slow but computes the same arithmetic as on a GPU)."""
    audio = read_wav(speech_dir / "ls_2412_153948_0000.wav")
    reference = (speech_dir / "ls_2412_153948_0000.txt").read_text()
    config = EngineConfig(
        model="tiny.en", device="cpu", precision="fp16", decode=DecodeOptions(language="en")
    )
    engine = Engine(config)
    assert engine.dtype == "float16"
    engine.start()
    try:
        assert engine.model.decoder.token_embedding.weight.dtype == torch.float16
        text = stream(engine, "fp16", audio, speed=0).text
    finally:
        engine.stop()
    assert wer(reference, text) <= 0.15, text
