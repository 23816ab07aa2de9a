"""One client's session: its inbox, segmenter, window state and emitter, and the decoding
bookkeeping between them.

``push``, ``end``, ``abort``, ``wait_closed`` and the read-only properties may be called from
any thread; everything else runs on the engine's loop thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from server_core.config import SAMPLE_RATE, DecodeOptions, SessionOptions, VadOptions
from server_core.contract import SessionInfo, SessionState
from server_core.engine.emitter import Emitter
from server_core.engine.inbox import Inbox, SessionStatus
from server_core.engine.segmenter import PREROLL_SAMPLES, Segmenter
from server_core.engine.utterances import UtteranceQueue
from server_core.engine.window import SAMPLES_PER_FRAME, Window
from server_core.events import CloseReason, Listener

if TYPE_CHECKING:
    from server_core.engine.alignatt import StepResult

LOOP_CONTEXT = 64  # tokens of dropped text kept for the loop search (alignatt.LOOP_CONTEXT)

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One decoder step for one session: a window at the front of its audio."""

    session: Session
    window: Window
    audio: np.ndarray
    final: bool  # commit everything: an utterance closed at the window's end
    full: bool  # the window is at audio_max_len and more audio waits behind it


class Session:
    def __init__(
        self,
        client_id: str,
        listener: Listener,
        vad: VadOptions,
        wake: Callable[[], None],
        request_abort: Callable[[Session], None],
        language: str | None = None,
        meta: dict | None = None,
        options: SessionOptions | None = None,
        final_pass: bool = False,
    ):
        self.client_id = client_id
        self.language = language
        self.options = options or SessionOptions()
        self.meta = dict(meta or {})
        self._wake = wake
        self._request_abort = request_abort
        self.inbox = Inbox(client_id)
        self.emitter = Emitter(client_id, listener)
        self.context: list[int] = []  # committed tokens carried as prompt; one list for life
        self.loop_memory: list[int] = []  # text dropped after a loop: searched, never prompted
        # The segmenter's callbacks hold the emitter and the context list, never the session:
        # no reference cycle, so a closed session's audio is freed at once.
        emitter, context = self.emitter, self.context
        self.segmenter = Segmenter(
            vad,
            on_open=lambda start: emitter.start_window(start / SAMPLE_RATE),
            on_reset=lambda window: context.extend(window.state.tokens),
        )
        # the final pass's tape and waiting utterances; it holds neither emitter nor session
        self.finals = UtteranceQueue() if final_pass else None
        if self.finals is not None:
            self.emitter.on_utterance_closed = self.finals.closed
        self.last_served_at = 0.0
        self.paused = False  # set from any thread; the loop leaves a paused session alone
        self._end_seen = False  # ingest() has seen end() and closed the last utterance

    # ---- any thread ----------------------------------------------------------------------
    def push(self, audio: np.ndarray) -> None:
        self.inbox.push(audio)
        self._wake()

    def end(self) -> None:
        if self.inbox.end():
            self._wake()

    def abort(self) -> None:
        if self.inbox.abort():
            self.emitter.silenced = True  # from now on only the ClosedEvent goes out
            self._request_abort(self)

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self.inbox.wait_closed(timeout)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self._wake()

    @property
    def status(self) -> SessionStatus:
        return self.inbox.status

    @property
    def received_samples(self) -> int:
        return self.inbox.received

    @property
    def processed_samples(self) -> int:
        seg = self.segmenter
        win = seg.window
        if win is not None and seg.has_work():
            return min(seg.position, win.start + win.decoded_upto)
        return seg.position

    @property
    def pending_seconds(self) -> float:
        """Speech the decoder has not seen yet, and audio not yet through the VAD."""
        seg = self.segmenter
        backlog = max(0, self.inbox.received - seg.ingested)
        return (seg.speech_new + backlog) / SAMPLE_RATE

    @property
    def lag(self) -> float:
        return max(0, self.inbox.received - self.processed_samples) / SAMPLE_RATE

    @property
    def aborted(self) -> bool:
        return self.inbox.status is SessionStatus.ABORTED

    @property
    def ending(self) -> bool:
        return self.inbox.status is SessionStatus.ENDING

    @property
    def state(self) -> SessionState:
        status = self.inbox.status
        if self.inbox.closed or status is SessionStatus.ABORTED:
            return SessionState.CLOSED
        if status is SessionStatus.ENDING:
            return SessionState.FLUSHING
        if self.segmenter.in_speech or self.segmenter.has_work():
            return SessionState.SPEECH
        return SessionState.IDLE

    def info(self) -> SessionInfo:
        return SessionInfo(
            client_id=self.client_id,
            state=self.state,
            lag=round(self.lag, 3),
            received_seconds=round(self.inbox.received / SAMPLE_RATE, 3),
            processed_seconds=round(self.processed_samples / SAMPLE_RATE, 3),
            language=self.language,
            meta=dict(self.meta),
        )

    # ---- loop thread: life cycle ---------------------------------------------------------
    def close(self, reason: CloseReason) -> None:
        """Deliver the ClosedEvent (once) and release anyone in wait_closed()."""
        self.emitter.close(reason)
        self.inbox.mark_closed()

    def ingest(self, max_samples: int | None = None) -> None:
        """Run VAD over the audio pushed since the last call (at most about ``max_samples``
        of it) and grow the window."""
        chunks, ending = self.inbox.take(max_samples)
        for chunk in chunks:
            if self.finals is not None:
                self.finals.tape.append(chunk)
            self.segmenter.feed(chunk)
        self._trim_tape()
        if ending and self.segmenter.window is not None:
            self.segmenter.close_utterance()
        self._end_seen = ending

    def _trim_tape(self) -> None:
        """Keep the tape from where the next utterance to close can begin."""
        if self.finals is None:
            return
        em, seg = self.emitter, self.segmenter
        if em.utterance_open:
            keep = int(em.utterance_start * SAMPLE_RATE)
        elif seg.window is not None:
            keep = int(em.sent_end * SAMPLE_RATE)
        else:  # a window opens no earlier than the segmenter's pre-roll
            keep = seg.ingested - PREROLL_SAMPLES
        waiting = self.finals.keep_from()
        self.finals.tape.trim(keep if waiting is None else min(keep, waiting))

    @property
    def end_seen(self) -> bool:
        """ingest() has taken the last audio after end()."""
        return self._end_seen

    def finished(self) -> bool:
        """Ending, everything ingested and decoded (the final pass included)."""
        return (
            self._end_seen
            and not self.inbox.has_audio()
            and not self.segmenter.has_work()
            and (self.finals is None or self.finals.idle)
        )

    def restart(self, context: list[int]) -> None:
        """Forget decoder state (after a model switch); speech still going on re-opens it."""
        self.segmenter.forget()
        self.set_context(context)

    def set_context(self, tokens: list[int]) -> None:
        self.context[:] = tokens
        self.loop_memory.clear()
        if self.finals is not None:
            self.finals.history[:] = tokens

    # ---- loop thread: scheduling ---------------------------------------------------------
    def has_work(self) -> bool:
        return self.segmenter.has_work()

    def pending_since(self) -> float:
        """When this session began waiting: its oldest undecoded audio, or its last turn.

        Sorting by this serves the oldest pending audio first, and a session just served goes
        to the back of the queue even if older audio of its own is waiting.
        """
        if not self.has_work():
            return float("inf")
        since = self.segmenter.pending_since
        since = since if since is not None else time.monotonic()
        return max(since, self.last_served_at)

    def ready(self, min_samples: int, max_samples: int) -> bool:
        return self.segmenter.ready(min_samples, max_samples)

    def next_job(self, max_samples: int) -> Job | None:
        seg = self.segmenter
        win = seg.window
        if win is None or not seg.has_work():
            return None
        self._trim_context(win, max_samples)
        if seg.closed_ends:
            upto = seg.closed_ends[0] - win.start
            audio = win.audio[: min(upto, max_samples)]
            full = upto > max_samples
            return Job(self, win, audio, final=not full, full=full)
        audio = win.audio[:max_samples]
        return Job(self, win, audio, final=False, full=win.audio.shape[0] > max_samples)

    def _trim_context(self, win: Window, max_samples: int) -> None:
        """Make room for the current utterance: closed ones leave the window when it fills."""
        if win.final_end > 0 and win.audio.shape[0] > max_samples * 0.8:
            self.context.extend(win.drop_front(win.final_end))

    # ---- loop thread: results of a decoder step ------------------------------------------
    def apply(
        self,
        job: Job,
        result: StepResult,
        decode_text: Callable[[list[int]], str],
        options: DecodeOptions | None = None,
    ) -> None:
        seg, win = self.segmenter, job.window
        options = options or DecodeOptions()
        self.last_served_at = time.monotonic()
        seg.pending_since = None
        st = win.state
        st.tokens.extend(result.tokens)
        st.frames.extend(result.frames)
        st.hypothesis = list(result.hypothesis)
        seen = job.audio.shape[0]
        win.decoded_upto = max(win.decoded_upto, seen)
        beyond = max(0, win.audio.shape[0] - seen)
        if job.full or (job.final and (seg.in_speech or seg.closed_ends)):
            seg.speech_new = beyond
        else:
            seg.speech_new = 0
        text = decode_text(st.tokens[st.closed :])
        if not job.final:
            text = text.rstrip("\ufffd")
        sent = self.emitter.sent_text
        fresh = text[len(sent) :] if text.startswith(sent) else ""
        if job.final:
            seg.closed_ends.popleft()
            self._close_utterance(win, fresh, (win.start + seen) / SAMPLE_RATE, seen)
        elif result.looped:
            if fresh:
                self._send_partial(win, text, fresh)
            self._close_utterance(win, "", self.emitter.sent_end, self._committed_end(win))
        elif job.full:
            self._advance_window(win, job, text, fresh, decode_text)
            self._cap_utterance(win, text, options)
        elif fresh:
            self._send_partial(win, text, fresh)
            self._cap_utterance(win, text, options)
        if result.looped:
            self._forget_loop(win, job)
        if seg.has_work():
            seg.mark_pending()

    def _cap_utterance(self, win: Window, text: str, options: DecodeOptions) -> None:
        """Close an utterance that went on too long where its committed text ends; the next
        words open a new one. Not inside a character (the text ends in a partial one)."""
        em = self.emitter
        too_long = em.utterance_open and (
            em.utterance_chars >= options.max_utterance_chars
            or em.sent_end - em.utterance_start >= options.max_utterance_seconds
        )
        if too_long and not text.endswith("\ufffd"):
            self._close_utterance(win, "", em.sent_end, self._committed_end(win), cut=True)

    @staticmethod
    def _committed_end(win: Window) -> int:
        """Samples of the window covered by its committed tokens."""
        frames = win.state.frames
        end = (frames[-1] + 1) * SAMPLES_PER_FRAME if frames else 0
        return min(max(end, win.final_end), win.audio.shape[0])

    def _forget_loop(self, win: Window, job: Job) -> None:
        """A repetition loop was cut and its utterance closed: drop what fed it.

        The prompt context and the window's committed text (the decoder's forced prefix) go,
        with the audio they cover; the audio after them is decoded afresh. They are kept
        only as ``loop_memory``, searched for loops but never shown to the decoder.
        """
        log.info("session %s: repetition loop cut; its context dropped", self.client_id)
        st, seg = win.state, self.segmenter
        self.loop_memory[:] = (self.loop_memory + self.context + st.tokens)[-LOOP_CONTEXT:]
        self.context.clear()
        cut = self._committed_end(win)
        if job.full:  # a full window must move on even if its loop left nothing committed
            cut = max(cut, (job.audio.shape[0] // SAMPLES_PER_FRAME // 2) * SAMPLES_PER_FRAME)
        win.cut_front(cut, len(st.tokens))
        st.hypothesis = []
        self.emitter.sent_end = max(self.emitter.sent_end, win.start / SAMPLE_RATE)
        while seg.closed_ends and seg.closed_ends[0] <= win.start:
            seg.closed_ends.popleft()
        # what is left was decoded only into the loop: it is new to the next step
        seg.speech_new = max(seg.speech_new, win.audio.shape[0] - win.final_end)

    def _send_partial(self, win: Window, text: str, fresh: str) -> None:
        frames = win.state.frames
        end_frame = frames[-1] + 1 if frames else 0
        end = (win.start + end_frame * SAMPLES_PER_FRAME) / SAMPLE_RATE
        self.emitter.partial(text, fresh, end)

    def _close_utterance(
        self, win: Window, fresh: str, end: float, end_sample: int, cut: bool = False
    ) -> None:
        """Send what remains of the utterance as its final text; it becomes left context.
        ``cut``: closed by the utterance cap, inside speech."""
        self.emitter.final(fresh, end, cut)
        st = win.state
        st.closed = len(st.tokens)
        win.final_end = max(win.final_end, end_sample)
        st.hypothesis = []
        st.language = None  # resolved again (detected, with "auto") per utterance

    def _advance_window(
        self,
        win: Window,
        job: Job,
        text: str,
        fresh: str,
        decode_text: Callable[[list[int]], str],
    ) -> None:
        """The window is full: slide it forward by about half, keeping the second half.

        Tokens of the audio that leaves become prompt context; tokens of the audio that stays
        remain the forced prefix, so no word is cut in two at the seam.
        """
        st = win.state
        if fresh:
            self._send_partial(win, text, fresh)
        half = (job.audio.shape[0] // SAMPLES_PER_FRAME) // 2
        k = next((i for i in range(st.closed, len(st.frames)) if st.frames[i] >= half), None)
        cut_frame = half if k is None else max(1, st.frames[k] - 5)
        k = len(st.tokens) if k is None else k
        self.context.extend(win.cut_front(cut_frame * SAMPLES_PER_FRAME, k))
        em = self.emitter
        em.sent_text = decode_text(st.tokens).rstrip("\ufffd") if em.utterance_open else ""
        self.segmenter.speech_new = max(0, win.audio.shape[0] - win.decoded_upto)

    def drop_pending(self, reason: str) -> None:
        """A decoder step failed on this session's audio: say so and move past it."""
        seg = self.segmenter
        win = seg.window
        seconds = (seg.speech_new + (win.audio.shape[0] if win else 0)) / SAMPLE_RATE
        if win is not None:
            self._close_utterance(win, "", self.emitter.sent_end, 0)
        seg.forget()
        self.emitter.notice(
            "engine_error",
            f"transcription failed ({reason}); {seconds:.1f} s of audio were not transcribed",
            skipped_seconds=round(seconds, 3),
        )

    def skip_backlog(self, keep_samples: int) -> float:
        """Lag policy "skip": drop the oldest undecoded audio, keep the newest ``keep_samples``."""
        seg = self.segmenter
        win = seg.window
        if win is None:
            return 0.0
        drop = win.audio.shape[0] - keep_samples
        if drop <= 0:
            return 0.0
        own = win.state.frames[win.state.closed :]
        committed = (own[-1] + 1) * SAMPLES_PER_FRAME if own else win.final_end
        skipped = max(0, drop - committed)
        self._close_utterance(win, "", self.emitter.sent_end, drop)
        self.context.extend(win.drop_front(drop))
        self.emitter.sent_end = win.start / SAMPLE_RATE
        while seg.closed_ends and seg.closed_ends[0] <= win.start:
            seg.closed_ends.popleft()
        seconds = skipped / SAMPLE_RATE
        if seconds > 0:
            self.emitter.notice(
                "lag_skip",
                f"transcription fell behind; skipped {seconds:.1f} s of audio "
                f"to catch up (now at {win.start / SAMPLE_RATE:.1f} s)",
                skipped_seconds=round(seconds, 3),
            )
        return seconds
