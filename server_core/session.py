"""Per-client state: received audio, VAD, and the audio buffer the decoder works on.

`push`, `end` and `abort` are called from any thread; everything else runs on the engine's
scheduler thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from server_core.alignatt import SAMPLES_PER_FRAME, WindowState
from server_core.config import SAMPLE_RATE, VadOptions
from server_core.events import ClosedEvent, Listener, NoticeEvent, SessionEvent, TranscriptEvent
from server_core.vad import SpeechGate

if TYPE_CHECKING:
    from server_core.alignatt import StepResult

log = logging.getLogger(__name__)

PREROLL_SAMPLES = int(1.5 * SAMPLE_RATE)
RESET_GAP = 2 * SAMPLE_RATE  # longer silence ends the left context


class SessionClosedError(RuntimeError):
    pass


def validate_chunk(audio: np.ndarray) -> np.ndarray:
    if not isinstance(audio, np.ndarray):
        raise ValueError(f"audio must be a numpy array, not {type(audio).__name__}")
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D mono, got shape {audio.shape}")
    if audio.dtype != np.float32:
        raise ValueError(f"audio must be float32, got {audio.dtype}")
    if not np.isfinite(audio).all():
        raise ValueError("audio contains NaN or Inf")
    return audio


@dataclass
class Buffer:
    """The audio the decoder sees: the current utterance, with earlier ones as left context.

    Silences shorter than ``RESET_GAP`` stay in, so Whisper hears speech in its real rhythm;
    the committed tokens of the whole buffer are the decoder's forced prefix.
    """

    start: int  # stream sample of audio[0]
    audio: np.ndarray
    decoded_upto: int = 0  # samples of `audio` the last decoder step saw
    window: WindowState = field(default_factory=WindowState)
    final_end: int = 0  # samples of `audio` covered by closed utterances
    emitted_text: str = ""  # text of `window.tokens` already sent
    emitted_end: float = 0.0  # stream seconds where the last sent text ended
    utterance_open: bool = False  # text of the current utterance was sent without final

    @property
    def end(self) -> int:
        return self.start + int(self.audio.shape[0])

    def append(self, audio: np.ndarray) -> None:
        if audio.size:
            self.audio = np.concatenate([self.audio, audio])

    def cut_front(self, samples: int, n_tokens: int) -> list[int]:
        """Cut ``samples`` of audio and the first ``n_tokens`` tokens; return those tokens."""
        win = self.window
        tokens = win.tokens[:n_tokens]
        del win.tokens[:n_tokens], win.frames[:n_tokens]
        shift = samples // SAMPLES_PER_FRAME
        win.frames = [max(0, f - shift) for f in win.frames]
        win.closed = max(0, win.closed - n_tokens)
        self.audio = self.audio[samples:]
        self.start += samples
        self.decoded_upto = max(0, self.decoded_upto - samples)
        self.final_end = max(0, self.final_end - samples)
        return tokens

    def drop_front(self, samples: int) -> list[int]:
        """Cut ``samples`` of audio (all of it closed utterances); return their tokens.

        The open utterance keeps all its tokens, so what was sent of it (emitted_text) stays.
        """
        tokens = self.cut_front(samples, self.window.closed)
        self.window.hypothesis = []
        return tokens


@dataclass
class Job:
    """One decoder step for one session: a window at the front of its buffer."""

    session: Session
    buffer: Buffer
    audio: np.ndarray
    final: bool  # commit everything: an utterance closed at the window's end
    full: bool  # the window is at audio_max_len and more audio waits behind it


@dataclass(frozen=True)
class SessionInfo:
    client_id: str
    state: str
    lag: float
    received_seconds: float
    processed_seconds: float
    language: str | None
    meta: dict


class Session:
    def __init__(
        self,
        client_id: str,
        listener: Listener,
        vad: VadOptions,
        wake: Callable[[], None],
        language: str | None = None,
        meta: dict | None = None,
    ):
        self.client_id = client_id
        self.language = language
        self.meta = dict(meta or {})
        self._listener = listener
        self._wake = wake
        self._lock = threading.Lock()
        self._raw: deque[np.ndarray] = deque()
        self._received = 0
        self._ending = False
        self._aborted = False
        self._closed = threading.Event()
        # scheduler-thread state
        self._gate = SpeechGate(vad)
        self._ingested = 0
        self._tail = np.zeros(0, dtype=np.float32)  # recent audio for the VAD pre-roll
        self._tail_start = 0
        self.buffer: Buffer | None = None
        self.closed_ends: deque[int] = deque()  # stream samples where utterances closed
        self._speech_new = 0  # speech samples not yet seen by the decoder
        self._silence_since: int | None = None  # stream sample where speech last ended
        self._pending_since: float | None = None
        self.context: list[int] = []  # committed tokens carried as prompt
        self.last_served_at = 0.0
        self._end_seen = False  # ingest() has seen end() and closed the last utterance

    # ---- any thread ----------------------------------------------------------------------
    def push(self, audio: np.ndarray) -> None:
        audio = validate_chunk(audio)
        with self._lock:
            if self._ending or self._aborted:
                raise SessionClosedError(f"session {self.client_id!r} is closed")
            if audio.size:
                self._raw.append(audio.copy())
                self._received += int(audio.shape[0])
        self._wake()

    def end(self) -> None:
        with self._lock:
            if self._aborted:
                return
            self._ending = True
        self._wake()

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            self._raw.clear()
        self._closed.set()
        self._wake()

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self._closed.wait(timeout)

    @property
    def received_samples(self) -> int:
        return self._received

    @property
    def processed_samples(self) -> int:
        buf = self.buffer
        if buf is not None and self.has_work():
            return min(self._gate.position, buf.start + buf.decoded_upto)
        return self._gate.position

    @property
    def lag(self) -> float:
        return max(0, self._received - self.processed_samples) / SAMPLE_RATE

    @property
    def aborted(self) -> bool:
        return self._aborted

    @property
    def ending(self) -> bool:
        return self._ending

    @property
    def state(self) -> str:
        if self._closed.is_set():
            return "closed"
        if self._ending:
            return "flushing"
        return "speech" if self._gate.in_speech or self.has_work() else "idle"

    def info(self) -> SessionInfo:
        return SessionInfo(
            client_id=self.client_id,
            state=self.state,
            lag=round(self.lag, 3),
            received_seconds=round(self._received / SAMPLE_RATE, 3),
            processed_seconds=round(self.processed_samples / SAMPLE_RATE, 3),
            language=self.language,
            meta=dict(self.meta),
        )

    # ---- scheduler thread ----------------------------------------------------------------
    def emit(self, event: SessionEvent) -> None:
        if self._aborted:
            return
        try:
            self._listener(event)
        except Exception:  # a broken listener must not take the engine down
            log.exception("listener of %s failed", self.client_id)

    def mark_closed(self) -> None:
        if not self._closed.is_set():
            self.emit(ClosedEvent(self.client_id))
            self._closed.set()

    def ingest(self) -> None:
        """Run VAD over the audio pushed since the last call and grow the buffer."""
        with self._lock:
            chunks = list(self._raw)
            self._raw.clear()
            ending = self._ending
        for chunk in chunks:
            self._ingest_chunk(chunk)
        if ending and self.buffer is not None:
            self.close_utterance()
        self._end_seen = ending

    def _ingest_chunk(self, chunk: np.ndarray) -> None:
        self._tail = np.concatenate([self._tail, chunk])
        self._ingested += int(chunk.shape[0])
        for event in self._gate.feed(chunk):
            if event.kind == "start":
                self._speech_started(event.sample)
            else:
                self._speech_ended(event.sample)
        if self._gate.in_speech and self.buffer is None:  # speech goes on after a reset
            self._open_buffer(max(self._tail_start, self._ingested - chunk.shape[0]))
        buf = self.buffer
        if buf is not None:
            gap = self._ingested - (self._silence_since or self._ingested)
            if self._gate.in_speech or self.has_work() or gap <= RESET_GAP:
                self._grow(buf, self._ingested, speech=self._gate.in_speech)
            else:
                self._reset_buffer()
        keep = min(self._tail.shape[0], PREROLL_SAMPLES)
        self._tail_start = self._ingested - keep
        self._tail = self._tail[self._tail.shape[0] - keep :].copy()

    def _speech_started(self, sample: int) -> None:
        buf = self.buffer
        if buf is not None and buf.end < self._tail_start and not self.has_work():
            self._reset_buffer()
        if self.buffer is None:
            self._open_buffer(max(sample, self._tail_start))
        self._silence_since = None

    def _speech_ended(self, sample: int) -> None:
        buf = self.buffer
        if buf is None:
            return
        end = max(
            sample, buf.start + buf.final_end, self.closed_ends[-1] if self.closed_ends else 0
        )
        if end > buf.end:
            self._grow(buf, end, speech=True)
        if not self.closed_ends or self.closed_ends[-1] < end:
            self.closed_ends.append(end)
        self._silence_since = end
        self._mark_pending()

    def _open_buffer(self, start: int) -> None:
        self.buffer = Buffer(start=start, audio=np.zeros(0, dtype=np.float32))
        self.buffer.emitted_end = start / SAMPLE_RATE

    def _grow(self, buf: Buffer, upto: int, speech: bool) -> None:
        have = buf.end
        if upto <= have:
            return
        lo = max(have, self._tail_start) - self._tail_start
        hi = upto - self._tail_start
        piece = self._tail[lo:hi]
        buf.append(piece)
        if speech:
            self._speech_new += int(piece.shape[0])
            self._mark_pending()

    def _mark_pending(self) -> None:
        if self._pending_since is None:
            self._pending_since = time.monotonic()

    def _reset_buffer(self) -> None:
        """Silence went on: the buffer's text becomes prompt context, its audio is dropped."""
        buf = self.buffer
        if buf is not None:
            self.context.extend(buf.window.tokens)
        self.buffer = None
        self._speech_new = 0

    def close_utterance(self) -> None:
        """Close the utterance in progress where the audio received so far ends."""
        buf = self.buffer
        if buf is None:
            return
        if not self.closed_ends or self.closed_ends[-1] < buf.end:
            pending = self._speech_new > 0 or buf.window.hypothesis or self._gate.in_speech
            if pending and buf.audio.shape[0] > buf.final_end:
                self.closed_ends.append(buf.end)
                self._mark_pending()
                return
        self._speech_new = 0  # nothing left that a final decode would see

    def restart(self, context: list[int]) -> None:
        """Forget decoder state (after a model switch); speech still going on re-opens it."""
        self.buffer = None
        self._speech_new = 0
        self.context = list(context)

    def has_work(self) -> bool:
        return bool(self.closed_ends) or self._speech_new > 0

    def pending_since(self) -> float:
        """When this session began waiting: its oldest undecoded audio, or its last turn.

        Sorting by this serves the oldest pending audio first, and a session just served goes
        to the back of the queue even if older audio of its own is waiting.
        """
        if not self.has_work():
            return float("inf")
        since = self._pending_since if self._pending_since is not None else time.monotonic()
        return max(since, self.last_served_at)

    def ready(self, min_samples: int, max_samples: int) -> bool:
        buf = self.buffer
        if buf is None:
            return False
        if self.closed_ends or self._speech_new >= min_samples:
            return True
        return self._speech_new > 0 and buf.audio.shape[0] >= max_samples

    def finished(self) -> bool:
        """Ending, everything ingested and decoded."""
        with self._lock:
            raw_left = bool(self._raw)
        return self._end_seen and not raw_left and not self.has_work()

    def next_job(self, max_samples: int) -> Job | None:
        buf = self.buffer
        if buf is None or not self.has_work():
            return None
        self._trim_context(max_samples)
        if self.closed_ends:
            upto = self.closed_ends[0] - buf.start
            window = buf.audio[: min(upto, max_samples)]
            full = upto > max_samples
            return Job(self, buf, window, final=not full, full=full)
        window = buf.audio[:max_samples]
        return Job(self, buf, window, final=False, full=buf.audio.shape[0] > max_samples)

    def _trim_context(self, max_samples: int) -> None:
        """Make room for the current utterance: closed ones leave the window when it fills."""
        buf = self.buffer
        assert buf is not None
        if buf.final_end > 0 and buf.audio.shape[0] > max_samples * 0.8:
            self.context.extend(buf.drop_front(buf.final_end))

    # ---- results of a decoder step --------------------------------------------------------
    def apply(
        self,
        job: Job,
        result: StepResult,
        decode_text: Callable[[list[int]], str],
    ) -> None:
        buf = job.buffer
        self.last_served_at = time.monotonic()
        self._pending_since = None
        win = buf.window
        win.tokens.extend(result.tokens)
        win.frames.extend(result.frames)
        win.hypothesis = list(result.hypothesis)
        seen = job.audio.shape[0]
        buf.decoded_upto = max(buf.decoded_upto, seen)
        beyond = max(0, buf.audio.shape[0] - seen)
        if job.full or (job.final and (self._gate.in_speech or self.closed_ends)):
            self._speech_new = beyond
        else:
            self._speech_new = 0
        text = decode_text(win.tokens[win.closed :])
        if not job.final:
            text = text.rstrip("\ufffd")
        fresh = text[len(buf.emitted_text) :] if text.startswith(buf.emitted_text) else ""
        if job.final:
            self.closed_ends.popleft()
            self._close_utterance(buf, fresh, (buf.start + seen) / SAMPLE_RATE, seen)
        elif job.full:
            self._advance_window(buf, job, text, fresh, decode_text)
        elif fresh:
            self._send_partial(buf, text, fresh)
        if self.has_work():
            self._mark_pending()

    def _send_partial(self, buf: Buffer, text: str, fresh: str) -> None:
        """Send ``fresh``, the unsent end of the open utterance's ``text``."""
        frames = buf.window.frames
        end_frame = frames[-1] + 1 if frames else 0
        end = (buf.start + end_frame * SAMPLES_PER_FRAME) / SAMPLE_RATE
        self._send_text(buf, fresh, end, final=False)
        buf.emitted_text = text

    def _send_text(self, buf: Buffer, text: str, end: float, final: bool) -> None:
        end = max(end, buf.emitted_end)
        self.emit(TranscriptEvent(self.client_id, text, buf.emitted_end, end, final))
        buf.emitted_end = end
        buf.utterance_open = not final

    def _close_utterance(self, buf: Buffer, fresh: str, end: float, end_sample: int) -> None:
        """Send what remains of the utterance as its final text; it becomes left context."""
        if fresh or buf.utterance_open:
            self._send_text(buf, fresh, end, final=True)
        buf.window.closed = len(buf.window.tokens)
        buf.final_end = max(buf.final_end, end_sample)
        buf.emitted_text = ""
        buf.window.hypothesis = []
        buf.window.language = None  # resolved again (detected, with "auto") per utterance

    def _advance_window(
        self,
        buf: Buffer,
        job: Job,
        text: str,
        fresh: str,
        decode_text: Callable[[list[int]], str],
    ) -> None:
        """The window is full: slide it forward by about half, keeping the second half.

        Tokens of the audio that leaves become prompt context; tokens of the audio that stays
        remain the forced prefix, so no word is cut in two at the seam.
        """
        win = buf.window
        if fresh:
            self._send_partial(buf, text, fresh)
        half = (job.audio.shape[0] // SAMPLES_PER_FRAME) // 2
        k = next((i for i in range(win.closed, len(win.frames)) if win.frames[i] >= half), None)
        cut_frame = half if k is None else max(1, win.frames[k] - 5)
        k = len(win.tokens) if k is None else k
        self.context.extend(buf.cut_front(cut_frame * SAMPLES_PER_FRAME, k))
        buf.emitted_text = decode_text(win.tokens).rstrip("\ufffd") if buf.utterance_open else ""
        self._speech_new = max(0, buf.audio.shape[0] - buf.decoded_upto)

    def drop_pending(self, reason: str) -> None:
        """A decoder step failed on this session's audio: say so and move past it."""
        seconds = (self._speech_new + (self.buffer.audio.shape[0] if self.buffer else 0)) / (
            SAMPLE_RATE
        )
        if self.buffer is not None:
            self._close_utterance(self.buffer, "", self.buffer.emitted_end, 0)
        self.buffer = None
        self.closed_ends.clear()
        self._speech_new = 0
        self.emit(
            NoticeEvent(
                self.client_id,
                "engine_error",
                f"transcription failed ({reason}); {seconds:.1f} s of audio were not transcribed",
                skipped_seconds=round(seconds, 3),
            )
        )

    def skip_backlog(self, keep_samples: int) -> float:
        """Lag policy "skip": drop the oldest undecoded audio, keep the newest ``keep_samples``."""
        buf = self.buffer
        if buf is None:
            return 0.0
        drop = buf.audio.shape[0] - keep_samples
        if drop <= 0:
            return 0.0
        own = buf.window.frames[buf.window.closed :]
        committed = (own[-1] + 1) * SAMPLES_PER_FRAME if own else buf.final_end
        skipped = max(0, drop - committed)
        self._close_utterance(buf, "", buf.emitted_end, drop)
        self.context.extend(buf.drop_front(drop))
        buf.emitted_end = buf.start / SAMPLE_RATE
        while self.closed_ends and self.closed_ends[0] <= buf.start:
            self.closed_ends.popleft()
        seconds = skipped / SAMPLE_RATE
        if seconds > 0:
            self.emit(
                NoticeEvent(
                    self.client_id,
                    "lag_skip",
                    f"transcription fell behind; skipped {seconds:.1f} s of audio "
                    f"to catch up (now at {buf.start / SAMPLE_RATE:.1f} s)",
                    skipped_seconds=round(seconds, 3),
                )
            )
        return seconds
