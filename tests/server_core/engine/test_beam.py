"""Beam search under AlignAtt (real weights, real speech): sensible text, the same result alone
or batched with greedy sessions, greedy sessions untouched by a beam beside them, and
``?beams=4`` over a real WebSocket."""

from __future__ import annotations

import asyncio

import pytest

from server_core.audio.files import read_wav
from server_core.config import DecodeOptions, EngineConfig
from server_core.engine.alignatt import AlignAttDecoder, StepRequest, StepResult
from server_core.engine.encoder import Encoder
from server_core.engine.window import WindowState
from server_core.wer import wer
from tests.server_core.engine.test_batch import tiny, windows  # noqa: F401 (fixture)
from tests.support.ws_text import transcribe_over_ws

pytestmark = pytest.mark.model


def reference(speech_dir, name: str) -> str:
    return (speech_dir / f"{name}.txt").read_text()


def same(a: StepResult, b: StepResult) -> bool:
    return (a.tokens, a.frames, a.hypothesis, a.stop_reason) == (
        b.tokens,
        b.frames,
        b.hypothesis,
        b.stop_reason,
    )


@pytest.fixture(scope="module")
def decoding(tiny, speech_dir):  # noqa: F811
    decoder = AlignAttDecoder(tiny, DecodeOptions(language="en", agreement=False))
    encoder = Encoder(tiny, pad_seconds=4.0, bucket_seconds=1.0)
    cases = windows(speech_dir)
    features = [encoder.encode([audio])[0] for audio, *_ in cases]

    def requests(beams: list[int]) -> list[StepRequest]:
        out = []
        for (audio, tokens, context, final), feats, b in zip(cases, features, beams, strict=True):
            tokenizer = decoder.tokenizer("en")
            prompt = decoder.prompt(tokenizer, decoder.encode_text(context), [])
            window = WindowState(list(tokens))
            n = audio.shape[0]
            out.append(StepRequest(feats, n, tokenizer, prompt, window, final, beams=b))
        return out

    return decoder, requests


def test_beam_sessions_decode_the_same_alone_and_batched_with_greedy_ones(decoding) -> None:
    decoder, requests = decoding
    greedy_alone = [decoder.steps([r])[0] for r in requests([1, 1, 1, 1])]
    for beams in ([4, 1, 2, 1], [1, 2, 4, 4]):
        batched = decoder.steps(requests(beams))
        alone = [decoder.steps([r])[0] for r in requests(beams)]
        for b, a, g, width in zip(batched, alone, greedy_alone, beams, strict=True):
            assert same(b, a), (width, b, a)
            if width == 1:  # a greedy session is untouched by a beam beside it
                assert same(b, g)
            assert abs(b.no_speech_prob - a.no_speech_prob) < 1e-4
        assert sum(len(b.tokens) for b in batched) >= 40  # real text was decoded
        assert {b.stop_reason for b in batched} >= {"boundary", "eot"}


def test_a_beam_commits_only_before_the_boundary_and_keeps_the_committed_prefix(
    decoding,
    tiny,  # noqa: F811
) -> None:
    decoder, requests = decoding
    jfk = requests([4, 1, 1, 1])[0]  # 6.2 s of a clip, not final, after " And so my fellow"
    result = decoder.steps([jfk])[0]
    n_frames = jfk.n_samples // 320
    assert result.stop_reason == "boundary" and result.tokens
    assert all(f < n_frames - decoder.options.frame_threshold for f in result.frames)
    text = decoder.tokenizer("en").decode(jfk.window.tokens + result.tokens)
    assert text.startswith(" And so my fellow Americans"), text


@pytest.mark.parametrize("beams", [2, 4])
def test_a_beam_transcribes_a_whole_clip_as_well_as_greedy(decoding, speech_dir, beams) -> None:
    decoder, _ = decoding
    encoder = Encoder(decoder.model, pad_seconds=4.0, bucket_seconds=1.0)
    tokenizer = decoder.tokenizer("en")
    for name in ("fleurs_en_000", "ls_2412_153948_0000"):
        audio = read_wav(speech_dir / f"{name}.wav")
        feats = encoder.encode([audio])[0]
        texts = {}
        for width in (1, beams):
            request = StepRequest(
                feats,
                audio.shape[0],
                tokenizer,
                decoder.prompt(tokenizer, [], []),
                WindowState([]),
                True,
                beams=width,
            )
            texts[width] = tokenizer.decode(decoder.steps([request])[0].tokens)
        ref = reference(speech_dir, name)
        assert wer(ref, texts[beams]) <= max(0.15, wer(ref, texts[1]) + 0.05), texts


def check_beams(beams: int) -> None:
    assert beams == 4


def test_a_websocket_client_with_beams_4_gets_its_text(speech_dir) -> None:
    from server_core.engine import Engine
    from server_core.net.server import LocalServer, ServerOptions

    audio = read_wav(speech_dir / "jfk_inaugural.wav")
    engine = Engine(EngineConfig(model="tiny.en", decode=DecodeOptions(language="en")))
    engine.start()
    server = LocalServer(engine, ServerOptions(port=0))
    server.start()

    try:
        text = asyncio.run(
            transcribe_over_ws(
                f"{server.ws_url}?client_id=b4&beams=4",
                audio,
                0.1,
                on_ready=lambda: check_beams(engine.get_session("b4").options.beams),
            )
        )
    finally:
        server.stop()
        engine.stop()
    assert wer(reference(speech_dir, "jfk_inaugural"), text) <= 0.2, text
