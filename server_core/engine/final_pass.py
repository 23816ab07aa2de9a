"""The second pass: each finished utterance decoded again, whole, offline-style, on spare compute.

A session's emitter reports every utterance it closes (a VAD pause, the utterance cap, a full
window or the end of the stream); its :class:`UtteranceQueue` cuts the utterance's audio from
the session's tape and keeps it until :class:`FinalPass` has decoded it with Whisper's own
decoding (``final_decode``), with the session's earlier final texts as prompt. An utterance
that the cap closed inside speech waits for the next pause, and the run up to it is decoded as
one clip: each line gets the segments whose middle lies in it. The engine's
loop runs one small unit of that work only when no live session is ready, so live steps always
come first. The result goes out as an ``UtteranceEvent`` after the utterance's last transcript.

Memory stays bounded (``utterances.py``): the tape keeps at most ``TAPE_SECONDS``, and a
session whose finished utterances hold more than ``WAITING_SECONDS`` of audio (a machine with
no spare compute) gets the oldest ones back with their live text instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from server_core.config import SAMPLE_RATE
from server_core.engine.final_decode import (
    PROMPT_RESET_TEMPERATURE,
    ClipRequest,
    ClipResult,
    Units,
    decode_clip,
)
from server_core.engine.utterances import ClosedUtterance, share_segments

if TYPE_CHECKING:
    from server_core.engine.runner import Runner
    from server_core.engine.session import Session

log = logging.getLogger(__name__)


@dataclass
class _Running:
    session: Session
    lines: list[ClosedUtterance]  # decoded as one clip
    units: Units


class FinalPass:
    """Runs the finished utterances of all sessions through the final pass, one unit a call,
    the one that finished first first."""

    def __init__(self) -> None:
        self._running: _Running | None = None
        self.unit_seconds = 0.05  # a running estimate of one unit's time (recent ones weigh)

    def room(self, sessions: list[Session], min_chunk: float) -> bool:
        """Whether a unit fits before any live session gets ready: it must not make one wait.
        A session whose undecoded audio is within a unit's time of ``min_chunk`` is about to
        be; the loop then waits for it instead."""
        for s in sessions:
            pending = s.pending_seconds
            if pending > 0 and pending + self.unit_seconds >= min_chunk:
                return False
        return True

    @staticmethod
    def bound(sessions: list[Session]) -> None:
        """Sessions with too much audio waiting get their oldest utterances back, live text."""
        for s in sessions:
            if s.finals is not None and s.finals.waiting:
                for late in s.finals.overflow():
                    log.info("session %s: no time for a final pass; live text kept", s.client_id)
                    s.emitter.utterance(late.live_text.strip(), late.start, late.end)

    def step(self, sessions: list[Session], runner: Runner, ending: bool = False) -> bool:
        """Run one unit; False if there was nothing to do. ``ending``: decode runs of capped
        utterances without waiting for their pause."""
        job = self._running
        if job is not None and (job.session.aborted or job.session.emitter.closed):
            self._stop(job)
            job = None
        if job is None:
            job = self._start(sessions, runner, ending)
            if job is None:
                return False
        t0 = time.perf_counter()
        try:
            next(job.units)
            took = time.perf_counter() - t0
            self.unit_seconds = max(took, 0.9 * self.unit_seconds)
        except StopIteration as done:
            self._finish(job, done.value)
        except Exception:
            log.exception("final pass of %s failed; live text kept", job.session.client_id)
            self._finish(job, None)
        return True

    def drain(self, sessions: list[Session], runner: Runner) -> None:
        """Finish every waiting utterance now (before the model is switched)."""
        while self.step(sessions, runner, ending=True):
            pass

    def _start(self, sessions: list[Session], runner: Runner, ending: bool) -> _Running | None:
        groups = []
        for s in sessions:
            if s.finals is not None and s.finals.waiting and not s.aborted:
                group = s.finals.group(ending or s.end_seen)
                if group:
                    groups.append((group[0].closed_at, s, group))
        if not groups:
            return None
        _, session, lines = min(groups, key=lambda g: g[0])
        finals = session.finals
        assert finals is not None
        for _ in lines:
            finals.waiting.popleft()
        finals.busy = True
        start, end = lines[0].start, lines[-1].end
        audio = finals.tape.slice(int(start * SAMPLE_RATE), int(end * SAMPLE_RATE))
        job = _Running(session, lines, _decode(session, audio, runner))
        self._running = job
        return job

    def _stop(self, job: _Running) -> None:
        job.units.close()
        if job.session.finals is not None:
            job.session.finals.busy = False
        self._running = None

    def _finish(self, job: _Running, result: ClipResult | None) -> None:
        self._running = None
        finals = job.session.finals
        assert finals is not None
        finals.busy = False
        if result is None:
            texts = [u.live_text.strip() for u in job.lines]
        else:
            finals.remember(result.segments, result.temperature > PROMPT_RESET_TEMPERATURE)
            texts = share_segments(result.segments, job.lines[0].start, job.lines)
        for u, text in zip(job.lines, texts, strict=True):
            job.session.emitter.utterance(text, u.start, u.end)


def _decode(session: Session, audio: np.ndarray, runner: Runner) -> Units:
    finals = session.finals
    assert finals is not None
    language = (session.language or runner.options.language).lower()
    if not runner.decoder.multilingual:
        language = "en"
    request = ClipRequest(
        audio=audio,
        language=None if language == "auto" else language,
        task=session.options.task or runner.options.task,
        context=tuple(finals.history),
        static=tuple(runner.static_tokens(session)),
    )
    return decode_clip(runner.decoder.model, request)
