"""The final pass's parts without a model: the tape that keeps an utterance's audio, the
queue that bounds what waits, the emitter's report of a closed utterance, and the wire form."""

from __future__ import annotations

import numpy as np

from server_core.config import SAMPLE_RATE
from server_core.engine import utterances
from server_core.engine.emitter import Emitter
from server_core.engine.final_decode import Segment
from server_core.engine.tape import AudioTape
from server_core.engine.utterances import UtteranceQueue, share_segments
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
    closed: list[tuple[float, float, str, bool]] = []
    em = Emitter("c", events.append)
    em.on_utterance_closed = lambda start, end, text, cut: closed.append((start, end, text, cut))
    em.start_window(1.0)
    em.partial(" Hello", " Hello", 2.0)
    em.partial(" Hello world", " world", 3.0)
    em.final(".", 3.5)
    em.partial(" Next", " Next", 5.0)
    em.final("", 5.5, cut=True)
    assert closed == [(1.0, 3.5, " Hello world.", False), (3.5, 5.5, " Next", True)]
    firsts = [e for e in events if isinstance(e, TranscriptEvent)]
    assert firsts[0].start == 1.0 and firsts[2].end == 3.5 and firsts[2].final


def test_capped_utterances_wait_for_the_pause_and_share_one_clip() -> None:
    q = UtteranceQueue()
    q.closed(0.5, 30.5, " capped one", cut=True)
    q.closed(30.5, 45.0, " capped two", cut=True)
    assert q.group(ending=False) == []  # the pause after them has not come yet
    assert len(q.group(ending=True)) == 2  # ... but at the end of the stream it will not
    q.closed(45.0, 50.0, " paused", cut=False)
    q.closed(52.0, 53.0, " next", cut=False)
    run = q.group(ending=False)
    assert [u.live_text for u in run] == [" capped one", " capped two", " paused"]
    assert q.keep_from() == int(0.5 * SAMPLE_RATE)
    # segments (clip seconds from 0.5) go to the line that holds their middle
    segments = (
        Segment(0.0, 20.0, " First sentence.", (1,)),
        Segment(20.0, 33.0, " Runs over the cut.", (2,)),  # middle 27 s: line one
        Segment(33.0, 47.0, " Second.", (3,)),
        Segment(47.0, 49.4, " Third.", (4,)),
    )
    texts = share_segments(segments, 0.5, run)
    assert texts == ["First sentence. Runs over the cut.", "Second.", "Third."]
    q.remember(segments, hot=False)
    assert q.history == [1, 2, 3, 4]
    q.remember(segments, hot=True)
    assert q.history == []


def test_waiting_audio_is_bounded_and_the_oldest_go_back_with_live_text(monkeypatch) -> None:
    monkeypatch.setattr(utterances, "WAITING_SECONDS", 5.0)
    q = UtteranceQueue()
    for k in range(6):
        q.closed(k * 3.0, k * 3.0 + 2.0, f" u{k}", cut=False)
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


def test_a_unit_runs_only_where_it_makes_no_live_session_wait() -> None:
    from types import SimpleNamespace

    from server_core.engine.final_pass import FinalPass

    fp = FinalPass()
    fp.unit_seconds = 0.2
    idle, early, close = (SimpleNamespace(pending_seconds=x) for x in (0.0, 0.5, 0.85))
    assert fp.room([idle, early], min_chunk=1.0)
    assert not fp.room([idle, close], min_chunk=1.0)  # 0.85 s + a 0.2 s unit: it would wait
    fp.unit_seconds = 0.1
    assert fp.room([close], min_chunk=1.0)
