"""The final pass on real weights and real speech (issue 21, "Two passes"): the transcript
stream is the same with it on and off, each closed utterance gets one ``utterance`` event with
its final text, over the WebSocket too, and ``--no-final-pass`` sends none."""

from __future__ import annotations

import numpy as np
import pytest

from server_core.audio.files import read_wav
from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig
from server_core.engine import Engine
from server_core.events import TranscriptEvent, UtteranceEvent
from server_core.net.app import create_app
from server_core.wer import wer
from tests.support.server_helpers import AppServer, ServerProcess, endpoint, run, stream_audio
from tests.support.streaming import Collected

pytestmark = pytest.mark.model

CLIPS = ("fleurs_en_000", "fleurs_en_001", "ls_1089_134686_0000")


def make_engine(final_pass: bool) -> Engine:
    engine = Engine(
        EngineConfig(
            model="tiny.en",
            decode=DecodeOptions(language="en"),
            lag_policy="keep",
            final_pass=final_pass,
        )
    )
    engine.start()
    return engine


@pytest.fixture(scope="module")
def engines():
    on, off = make_engine(True), make_engine(False)
    yield on, off
    on.stop()
    off.stop()


@pytest.fixture(scope="module")
def speech(speech_dir) -> tuple[np.ndarray, str]:
    """Three clips with 1.5 s pauses between them: several utterances, closed by the VAD."""
    gap = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate([x for c in CLIPS for x in (read_wav(speech_dir / f"{c}.wav"), gap)])
    text = " ".join((speech_dir / f"{c}.txt").read_text(encoding="utf-8") for c in CLIPS)
    return audio, text


def upload(engine: Engine, client_id: str, audio: np.ndarray) -> Collected:
    """All the audio at once, in 100 ms chunks, before the loop looks at the session: the
    steps then fall where the ingest budget puts them, the same in every run."""
    got = Collected()
    session = engine.open_session(client_id, got)
    session.set_paused(True)
    step = SAMPLE_RATE // 10
    for i in range(0, audio.shape[0], step):
        session.push(audio[i : i + step])
    session.end()
    session.set_paused(False)
    assert got.closed.wait(600), f"{client_id} was not flushed"
    return got


def wire(events) -> list[tuple]:
    return [(e.text, e.start, e.end, e.final) for e in events if isinstance(e, TranscriptEvent)]


def test_transcripts_are_the_same_with_and_without_the_final_pass(engines, speech) -> None:
    on, off = engines
    audio, reference = speech
    with_pass = upload(on, "with", audio)
    without = upload(off, "without", audio)
    assert wire(with_pass.events) == wire(without.events)  # the reference stream, untouched
    assert not [e for e in without.events if isinstance(e, UtteranceEvent)]

    # one utterance event per closed utterance, after its final transcript, same start/end
    utterances = [e for e in with_pass.events if isinstance(e, UtteranceEvent)]
    closed, start = [], None
    for e in with_pass.transcripts:
        start = e.start if start is None else start
        if e.final:
            closed.append((start, e.end))
            start = None
    assert len(closed) >= 3
    assert [(u.start, u.end) for u in utterances] == closed
    order = with_pass.events
    finals = [e for e in order if isinstance(e, TranscriptEvent) and e.final]
    for u, final in zip(utterances, finals, strict=True):
        assert final.end == u.end and order.index(final) < order.index(u)
    final_text = " ".join(u.text for u in utterances)
    live, final = wer(reference, with_pass.text), wer(reference, final_text)
    print(f"live WER {live:.3f}, final pass WER {final:.3f}: {final_text!r}")
    assert final <= live


def test_websocket_client_gets_utterance_messages_numbered_with_the_rest(engines, speech) -> None:
    on, _ = engines
    audio, _ = speech
    with AppServer(create_app(on)) as srv:
        result = run(stream_audio(endpoint(srv.ws_url, "ws-final"), "ws-final", audio, speed=20))
    kinds = [m["type"] for m in result.messages]
    assert kinds[0] == "ready" and kinds[-1] == "done"
    utterances = [m for m in result.messages if m["type"] == "utterance"]
    finals = [m for m in result.transcripts if m["final"]]
    assert utterances and len(utterances) == len(finals)
    assert set(utterances[0]) == {"type", "client_id", "text", "start", "end", "timestamp", "seq"}
    seqs = [m["seq"] for m in result.messages if "seq" in m]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # a client that ignores the type still reads a whole transcript stream that ends final
    assert result.transcripts[-1]["final"] is True


def test_no_final_pass_flag_sends_no_utterance_messages(speech) -> None:
    audio, _ = speech
    srv = ServerProcess(
        "--model", "tiny.en", "--language", "en", "--port", "0", "--no-final-pass"
    ).wait_listening()
    try:
        result = run(stream_audio(endpoint(srv.ws_url, "plain"), "plain", audio, speed=20))
    finally:
        srv.stop()
    assert result.transcripts and result.transcripts[-1]["final"] is True
    assert "utterance" not in result.types
