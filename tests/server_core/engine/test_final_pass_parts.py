"""The final pass's parts without a model: the tape that keeps an utterance's audio, the
queue that bounds what waits, the emitter's report of a closed utterance, and the wire form."""

from __future__ import annotations

import numpy as np

from server_core.config import SAMPLE_RATE
from server_core.engine import utterances
from server_core.engine.emitter import Emitter
from server_core.engine.tape import AudioTape
from server_core.engine.utterances import UtteranceQueue
from server_core.events import TranscriptEvent, UtteranceEvent


def ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)


def test_tape_slices_stream_samples_and_forgets_what_is_trimmed() -> None:
    tape = AudioTape(limit=10_000)
    for k in range(10):
        tape.append(ramp(k * 100, 100))
    assert tape.end == 1000 and tape.start == 0
    np.testing.assert_array_equal(tape.slice(150, 420), ramp(150, 270))
    tape.trim(250)  # whole chunks only: the chunk holding 250 stays
    assert tape.start == 200
    np.testing.assert_array_equal(tape.slice(100, 300), ramp(200, 100))
    assert tape.slice(2000, 3000).size == 0


def test_tape_never_holds_more_than_its_limit() -> None:
    tape = AudioTape(limit=1000)
    for k in range(100):
        tape.append(ramp(k * 100, 100))
    assert tape.samples <= 1000
    assert tape.end == 10_000


def test_emitter_reports_each_closed_utterance_with_its_whole_live_text() -> None:
    events: list = []
    closed: list[tuple[float, float, str]] = []
    em = Emitter("c", events.append)
    em.on_utterance_closed = lambda start, end, text: closed.append((start, end, text))
    em.start_window(1.0)
    em.partial(" Hello", " Hello", 2.0)
    em.partial(" Hello world", " world", 3.0)
    em.final(".", 3.5)
    em.partial(" Next", " Next", 5.0)
    em.final("", 5.5)
    assert closed == [(1.0, 3.5, " Hello world."), (3.5, 5.5, " Next")]
    firsts = [e for e in events if isinstance(e, TranscriptEvent)]
    assert firsts[0].start == 1.0 and firsts[2].end == 3.5 and firsts[2].final


def test_queue_cuts_the_utterance_from_the_tape() -> None:
    q = UtteranceQueue()
    q.tape.append(ramp(0, 3 * SAMPLE_RATE))
    q.closed(0.5, 2.0, " live")
    (u,) = q.waiting
    np.testing.assert_array_equal(u.audio, ramp(SAMPLE_RATE // 2, int(1.5 * SAMPLE_RATE)))
    assert u.live_text == " live" and not q.idle


def test_waiting_audio_is_bounded_and_the_oldest_go_back_with_live_text(monkeypatch) -> None:
    monkeypatch.setattr(utterances, "WAITING_SECONDS", 5.0)
    q = UtteranceQueue()
    q.tape.append(np.zeros(20 * SAMPLE_RATE, dtype=np.float32))
    for k in range(6):
        q.closed(k * 3.0, k * 3.0 + 2.0, f" u{k}")
    late = q.overflow()
    assert [u.live_text for u in late] == [" u0", " u1", " u2", " u3"]
    assert [u.live_text for u in q.waiting] == [" u4", " u5"]


def test_utterance_wire_form() -> None:
    wire = UtteranceEvent("phone", "Final text.", 1.23456, 4.5, timestamp=7.0).to_wire()
    assert wire == {
        "type": "utterance",
        "client_id": "phone",
        "text": "Final text.",
        "start": 1.235,
        "end": 4.5,
        "timestamp": 7.0,
    }
