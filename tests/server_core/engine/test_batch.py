"""Batched steps equal one-at-a-time steps, token for token (real weights, real speech)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import whisper

from server_core.audio.files import read_wav
from server_core.config import SAMPLE_RATE, DecodeOptions
from server_core.engine.alignatt import AlignAttDecoder, StepRequest
from server_core.engine.decoder import BatchDecoder
from server_core.engine.encoder import Encoder
from server_core.engine.window import WindowState
from server_core.models import load_model

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tiny():
    model = load_model("tiny.en")
    model.eval()
    return model


def windows(speech_dir) -> list[tuple]:
    """(audio, committed tokens, context text, final) of four sessions at different points."""
    jfk = read_wav(speech_dir / "jfk_inaugural.wav")
    ls = read_wav(speech_dir / "ls_2412_153948_0000.wav")
    fl = read_wav(speech_dir / "fleurs_en_000.wav")
    tok = whisper.tokenizer.get_tokenizer(False)
    return [
        (jfk[: int(6.2 * SAMPLE_RATE)], tok.encode(" And so my fellow"), "", False),
        (ls[: int(9.5 * SAMPLE_RATE)], [], "A story of my youth.", False),
        (fl, [], "", True),
        (jfk, tok.encode(" And so my fellow Americans, ask not"), "Kennedy spoke.", True),
    ]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])  # bf16: int8 logits, row by row
def test_batched_steps_equal_one_at_a_time(tiny, speech_dir, precision) -> None:
    options = DecodeOptions(language="en", agreement=False)
    decoder = AlignAttDecoder(tiny, options, precision)
    encoder = Encoder(tiny, pad_seconds=4.0, bucket_seconds=1.0)
    cases = windows(speech_dir)
    audios = [audio for audio, *_ in cases]
    batched_features = encoder.encode(audios)
    alone_features = [encoder.encode([a])[0] for a in audios]
    assert len({f.shape[0] for f in batched_features}) > 1  # the rows differ in length
    for b, a in zip(batched_features, alone_features, strict=True):
        assert b.shape == a.shape
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)

    def requests() -> list[StepRequest]:
        out = []
        for (audio, tokens, context, final), feats in zip(cases, alone_features, strict=True):
            tokenizer = decoder.tokenizer("en")
            prompt = decoder.prompt(tokenizer, decoder.encode_text(context), [])
            out.append(
                StepRequest(
                    feats, audio.shape[0], tokenizer, prompt, WindowState(list(tokens)), final
                )
            )
        return out

    batched = decoder.steps(requests())
    alone = [decoder.steps([r])[0] for r in requests()]
    for b, a in zip(batched, alone, strict=True):
        assert (b.tokens, b.frames, b.hypothesis, b.stop_reason) == (
            a.tokens,
            a.frames,
            a.hypothesis,
            a.stop_reason,
        )
        assert abs(b.no_speech_prob - a.no_speech_prob) < 1e-4
    assert sum(len(b.tokens) for b in batched) >= 40  # real text was decoded, not nothing
    assert {b.stop_reason for b in batched} >= {"boundary", "eot"}  # both kinds of row


def test_the_batched_decoder_is_whisper_s_decoder(tiny, speech_dir) -> None:
    """Logits and alignment-head attention match openai-whisper's own forward."""
    from whisper.model import disable_sdpa

    audio = read_wav(speech_dir / "jfk_inaugural.wav")
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(audio)))
    with torch.inference_mode():
        features = tiny.encoder(mel[None])
    heads = [tuple(h) for h in torch.nonzero(tiny.alignment_heads.to_dense()).tolist()]
    tok = whisper.tokenizer.get_tokenizer(False)
    prompt = list(tok.sot_sequence_including_notimestamps) + tok.encode(" And so my fellow")
    qks: dict[int, torch.Tensor] = {}
    hooks = [
        tiny.decoder.blocks[layer].cross_attn.register_forward_hook(
            lambda _m, _i, out, layer=layer: qks.__setitem__(layer, out[1])
        )
        for layer in {layer for layer, _ in heads}
    ]
    try:
        with torch.inference_mode(), disable_sdpa():
            logits = tiny.decoder(torch.tensor([prompt]), features)[0, -1]
        stock_alignment = torch.stack([qks[la][0, h, -1] for la, h in heads]).softmax(-1).mean(0)
    finally:
        for h in hooks:
            h.remove()
    _, out = BatchDecoder(tiny, heads).start([features[0]], [prompt])
    torch.testing.assert_close(out.logits[0], logits, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(out.alignment[0], stock_alignment, rtol=1e-4, atol=1e-5)


def test_encoder_sees_the_window_plus_padding_ending_like_a_full_window(tiny) -> None:
    enc = Encoder(tiny, pad_seconds=2.0, bucket_seconds=2.0, tail_seconds=2.0)
    assert enc.padded_length(int(5.1 * SAMPLE_RATE)) == 8 * SAMPLE_RATE  # 7.1 s up to 8 s
    assert enc.padded_length(29 * SAMPLE_RATE) == 30 * SAMPLE_RATE  # never past 30 s
    table = tiny.encoder.positional_embedding
    positions = enc.positions(400)  # 8 s: 300 frames of their own, then the last 100 of 30 s
    assert torch.equal(positions[:300], table[:300])
    assert torch.equal(positions[300:], table[1400:])
    assert torch.equal(enc.positions(1500), table)  # a full window is the stock forward
    features = enc.encode([np.zeros(int(5.1 * SAMPLE_RATE), np.float32)])[0]
    assert features.shape == (400, tiny.dims.n_audio_state)
