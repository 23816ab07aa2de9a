"""Per-client state: received audio, VAD, the segments of speech waiting for the decoder.

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

from server_core.alignatt import WindowState
from server_core.config import SAMPLE_RATE, VadOptions
from server_core.events import ClosedEvent, Listener, NoticeEvent, SessionEvent, TranscriptEvent
from server_core.vad import SpeechGate

if TYPE_CHECKING:
    from server_core.alignatt import StepResult

log = logging.getLogger(__name__)

PREROLL_SAMPLES = int(1.5 * SAMPLE_RATE)


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
class Segment:
    """Contiguous speech (one utterance, or the part of it not yet decoded)."""

    start: int  # stream sample of audio[0]
    audio: np.ndarray
    closed: bool = False
    decoded_upto: int = 0  # samples of `audio` the last decoder step saw
    window: WindowState = field(default_factory=WindowState)
    emitted_text: str = ""  # text of `window.tokens` already sent
    emitted_end: float = 0.0  # stream seconds where the last sent text ended
    utterance_open: bool = False  # some text of this utterance was sent without final
    pending_since: float | None = None

    def append(self, audio: np.ndarray) -> None:
        if audio.size:
            self.audio = np.concatenate([self.audio, audio])
            if self.pending_since is None:
                self.pending_since = time.monotonic()

    @property
    def new_samples(self) -> int:
        return int(self.audio.shape[0]) - self.decoded_upto


@dataclass
class Job:
    """One decoder step for one session: a window of a segment's audio."""

    session: Session
    segment: Segment
    offset: int  # start of the window within segment.audio
    audio: np.ndarray
    final: bool  # commit everything: the utterance is closed and the window reaches its end
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
        self._last_end = 0
        self.segments: deque[Segment] = deque()
        self.context: list[int] = []  # committed tokens carried as prompt
        self.context_model: object | None = None  # the model those tokens belong to
        self.skipped_seconds = 0.0
        self.last_served_at = 0.0

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
        segments = list(self.segments)
        if segments:
            first = segments[0]
            return first.start + first.decoded_upto
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
        return "speech" if self._gate.in_speech or self.segments else "idle"

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
        """Run VAD over the audio pushed since the last call and grow the speech segments."""
        with self._lock:
            chunks = list(self._raw)
            self._raw.clear()
            ending = self._ending
        for chunk in chunks:
            self._ingest_chunk(chunk)
        if ending and self.segments and not self.segments[-1].closed:
            self.segments[-1].closed = True

    def _ingest_chunk(self, chunk: np.ndarray) -> None:
        self._tail = np.concatenate([self._tail, chunk])
        self._ingested += int(chunk.shape[0])
        for event in self._gate.feed(chunk):
            if event.kind == "start":
                start = max(event.sample, self._last_end, self._tail_start)
                self.segments.append(
                    Segment(start=start, audio=self._slice(start), utterance_open=False)
                )
                self.segments[-1].emitted_end = start / SAMPLE_RATE
            elif self.segments and not self.segments[-1].closed:
                seg = self.segments[-1]
                end = max(event.sample, seg.start)
                have = seg.start + seg.audio.shape[0]
                if end > have:
                    seg.append(self._slice(have, end))
                elif end < have:
                    seg.audio = seg.audio[: end - seg.start]
                seg.closed = True
                self._last_end = end
        if self._gate.in_speech and (not self.segments or self.segments[-1].closed):
            # an utterance was cut (model switch) while speech goes on: continue in a new one
            start = max(self._last_end, self._tail_start)
            self.segments.append(Segment(start=start, audio=np.zeros(0, dtype=np.float32)))
            self.segments[-1].emitted_end = start / SAMPLE_RATE
        if self.segments and not self.segments[-1].closed:
            seg = self.segments[-1]
            have = seg.start + seg.audio.shape[0]
            seg.append(self._slice(have))
        keep = min(self._tail.shape[0], PREROLL_SAMPLES)
        self._tail_start = self._ingested - keep
        self._tail = self._tail[self._tail.shape[0] - keep :].copy()

    def _slice(self, start: int, end: int | None = None) -> np.ndarray:
        end = self._ingested if end is None else end
        lo = max(start, self._tail_start) - self._tail_start
        hi = max(end, self._tail_start) - self._tail_start
        return self._tail[lo:hi].copy()

    def close_open_segment(self) -> None:
        """Close the utterance in progress where the audio received so far ends."""
        if self.segments and not self.segments[-1].closed:
            seg = self.segments[-1]
            seg.closed = True
            self._last_end = seg.start + seg.audio.shape[0]

    def pending_since(self) -> float:
        """When this session began waiting: its oldest undecoded audio, or its last turn.

        Sorting by this serves the oldest pending audio first, and a session just served goes
        to the back of the queue even if older audio of its own is waiting.
        """
        if not self.segments:
            return float("inf")
        first = self.segments[0]
        since = first.pending_since if first.pending_since is not None else time.monotonic()
        return max(since, self.last_served_at)

    def ready(self, min_samples: int) -> bool:
        if not self.segments:
            return False
        first = self.segments[0]
        return first.closed or len(self.segments) > 1 or first.new_samples >= min_samples

    def finished(self) -> bool:
        """Ending, everything ingested and decoded."""
        with self._lock:
            raw_left = bool(self._raw)
        return self._ending and not raw_left and not self.segments

    def next_job(self, max_samples: int) -> Job | None:
        if not self.segments:
            return None
        seg = self.segments[0]
        window = seg.audio[:max_samples]
        full = seg.audio.shape[0] > max_samples
        final = seg.closed and not full
        return Job(self, seg, 0, window, final=final, full=full)

    # ---- results of a decoder step --------------------------------------------------------
    def apply(
        self,
        job: Job,
        result: StepResult,
        decode_text: Callable[[list[int]], str],
        frame_threshold: int,
    ) -> None:
        seg = job.segment
        self.last_served_at = time.monotonic()
        seg.window.tokens.extend(result.tokens)
        seg.window.frames.extend(result.frames)
        seg.decoded_upto = max(seg.decoded_upto, job.offset + job.audio.shape[0])
        seg.pending_since = None if seg.new_samples <= 0 else time.monotonic()
        text = decode_text(seg.window.tokens)
        if not job.final:
            text = text.rstrip("\ufffd")
        fresh = text[len(seg.emitted_text) :] if text.startswith(seg.emitted_text) else ""
        end_frame = seg.window.frames[-1] + 1 if seg.window.frames else 0
        if job.final:
            self._close_window(seg, fresh, (seg.start + job.audio.shape[0]) / SAMPLE_RATE)
            self.segments.popleft()
            return
        if job.full:
            self._advance_window(seg, job, result, fresh, frame_threshold)
            return
        if fresh:
            end = (seg.start + end_frame * 320) / SAMPLE_RATE
            self._send_text(seg, fresh, end, final=False)
            seg.emitted_text = text

    def _send_text(self, seg: Segment, text: str, end: float, final: bool) -> None:
        end = max(end, seg.emitted_end)
        self.emit(TranscriptEvent(self.client_id, text, seg.emitted_end, end, final))
        seg.emitted_end = end
        seg.utterance_open = not final

    def _close_window(self, seg: Segment, fresh: str, end: float) -> None:
        """Send what remains of the window as the utterance's final text; carry its context."""
        if fresh or seg.utterance_open:
            self._send_text(seg, fresh, end, final=True)
        self.context.extend(seg.window.tokens)
        seg.window = WindowState(language=None)
        seg.emitted_text = ""

    def _advance_window(
        self, seg: Segment, job: Job, result: StepResult, fresh: str, frame_threshold: int
    ) -> None:
        """The window is full: close it after the committed text and start a new one there."""
        n = job.audio.shape[0]
        if seg.window.frames:
            cut_frame = (
                result.boundary_frame
                if result.boundary_frame is not None
                else (seg.window.frames[-1] + 1)
            )
            cut = min(n, max(cut_frame, seg.window.frames[-1] + 1) * 320)
        else:
            cut = n
        if cut < SAMPLE_RATE:  # no progress possible; decode what the window has to the end
            cut = n
        end = (seg.start + cut) / SAMPLE_RATE
        self._close_window(seg, fresh, end)
        seg.audio = seg.audio[cut:]
        seg.start += cut
        seg.decoded_upto = 0
        seg.emitted_end = seg.start / SAMPLE_RATE
        seg.pending_since = time.monotonic()

    def skip_backlog(self, keep_samples: int) -> float:
        """Lag policy "skip": drop the oldest undecoded speech, keep the newest ``keep_samples``."""
        skipped = 0
        while len(self.segments) > 1:
            seg = self.segments.popleft()
            skipped += seg.audio.shape[0] - seg.decoded_upto
            self._close_window(seg, "", seg.emitted_end)
        if self.segments:
            seg = self.segments[0]
            drop = seg.audio.shape[0] - keep_samples
            if drop > 0:
                committed = (seg.window.frames[-1] + 1) * 320 if seg.window.frames else 0
                skipped += max(0, drop - committed)
                self._close_window(seg, "", seg.emitted_end)
                seg.audio = seg.audio[drop:]
                seg.start += drop
                seg.decoded_upto = 0
                seg.emitted_end = seg.start / SAMPLE_RATE
        seconds = skipped / SAMPLE_RATE
        if seconds > 0:
            self.skipped_seconds += seconds
            self.emit(
                NoticeEvent(
                    self.client_id,
                    "lag_skip",
                    f"transcription fell behind; skipped {seconds:.1f} s of audio "
                    f"to catch up (now at {self.processed_samples / SAMPLE_RATE:.1f} s)",
                    skipped_seconds=round(seconds, 3),
                )
            )
        return seconds
