"""Echo cancellation of the microphone, with the captured system audio as the far-end reference.

Without headphones the microphone also hears the speakers, so what the "System" source plays
comes back in the "You" source. WebRTC's echo canceller (AEC3, through the ``livekit``
package's ``AudioProcessingModule``) removes it, given the far end (what was played) a little
before the near end (what the microphone heard) in 10 ms frames.

The two captures run on their own threads with their own clocks and block sizes, so this module
puts both on one timeline before the canceller sees them:

- each block is stamped with the time it arrived, smoothed into a steady per-stream clock
  (:class:`StreamClock`): two device clocks that drift apart stay aligned, because the stamps
  follow this machine's clock, not the devices' sample counts;
- a near frame stamped ``t`` is processed once the far end has arrived up to ``t + lead``
  (far frames first, in time order), so the canceller always sees the reference before the
  echo; the canceller's own delay estimator then finds the acoustic delay (0.3 s and more);
- when the far end is idle (no system capture, or a loopback that delivers nothing while
  nothing plays), a near frame waits at most ``max_wait`` and then passes through untouched.

Both streams must already be 16 kHz mono float32 (the sources resample and down-mix).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional, Protocol

import numpy as np

from server_core.config import SAMPLE_RATE

log = logging.getLogger(__name__)

FRAME = SAMPLE_RATE // 100  # the canceller takes 10 ms frames
FRAME_SECONDS = FRAME / SAMPLE_RATE
# the reference's capture block: the microphone waits for the reference, so keep it short
REFERENCE_BLOCK_SECONDS = 0.01
Sink = Callable[[np.ndarray], None]
AEC_DELAY_SAMPLES = 127  # AEC3 returns a frame this much later (measured: livekit 1.2, 16 kHz)
DOUBLE_TALK_ENERGY = FRAME * (10 ** (-40 / 20)) ** 2  # a voice: louder than -40 dBFS
ACTIVE_FAR_PEAK = 100  # int16: a far frame this loud is sound the canceller learns from
FAR_KEEP_SECONDS = 1.0  # far audio kept ahead of the microphone's, at most
INSTALL_HINT = "echo cancellation needs the livekit package: pip install 'livekit>=1.0'"


class EchoUnavailable(RuntimeError):
    """The canceller's library is missing or does not load on this machine."""


class FrameProcessor(Protocol):
    """A canceller on 10 ms int16 frames: far frames in, near frames cleaned in place."""

    def far(self, frame: np.ndarray) -> None: ...

    def near(self, frame: np.ndarray) -> np.ndarray: ...


class WebRtcProcessor:
    """WebRTC AEC3 through ``livekit.rtc.AudioProcessingModule`` (echo cancellation only:
    noise suppression, gain control and the high-pass filter would change the speech that
    Whisper hears)."""

    def __init__(self) -> None:
        try:
            from livekit import rtc
        except Exception as exc:  # ImportError, or the native library failing to load
            raise EchoUnavailable(f"{INSTALL_HINT} ({type(exc).__name__}: {exc})") from None
        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True)
        # our timeline already puts the far end ahead, and AEC3 estimates the rest of the delay
        # itself: the hint is set once (per frame it would only cost a call into the library)
        self._apm.set_stream_delay_ms(0)

    def _frame(self, frame: np.ndarray):
        return self._rtc.AudioFrame(frame.tobytes(), SAMPLE_RATE, 1, FRAME)

    def far(self, frame: np.ndarray) -> None:
        self._apm.process_reverse_stream(self._frame(frame))

    def near(self, frame: np.ndarray) -> np.ndarray:
        f = self._frame(frame)
        self._apm.process_stream(f)
        return np.frombuffer(bytes(f.data), dtype=np.int16)


@dataclass(frozen=True)
class EchoOptions:
    lead_seconds: float = 0.02  # the far end reaches the canceller this much before the near
    max_wait_seconds: float = 0.1  # a near frame waits at most this long for the far end
    far_idle_seconds: float = 0.5  # far end silent this long: near frames pass untouched
    settle_seconds: float = 0.3  # near frames pass while the far end's clock settles
    warmup_seconds: float = 5.0  # of far-end sound, before the cancelled audio is used
    # a frame that keeps more than this of its energy through the canceller is double talk
    double_talk_db: float = -10.0
    double_talk_hangover_frames: int = 5


class StreamClock:
    """The capture time of a stream's samples, from the arrival times of its blocks.

    A block arrives some time after its last sample was captured: a steady latency, plus
    whatever the scheduler and the sound server add now and then. The least ``arrival - stream
    time`` over the last ``WINDOW_SECONDS`` is the steady part, so the clock ignores late blocks
    (and the burst that follows a stall), and follows slow drift as the window slides. After a
    gap in arrivals (a loopback that delivers nothing while nothing plays) it starts over.
    """

    WINDOW_SECONDS = 2.0
    GAP_SECONDS = 0.5

    def __init__(self) -> None:
        self._samples = 0  # since the clock (re)started
        self._last_arrival: Optional[float] = None
        self._offsets: deque[tuple[float, float]] = deque()  # (stream time, offset), rising

    def stamp(self, samples: int, arrived: float) -> float:
        """The capture time of this block's first sample."""
        if self._last_arrival is not None and arrived - self._last_arrival > self.GAP_SECONDS:
            self._samples = 0
            self._offsets.clear()
        self._last_arrival = arrived
        self._samples += samples
        t = self._samples / SAMPLE_RATE
        offset = arrived - t
        while self._offsets and self._offsets[0][0] < t - self.WINDOW_SECONDS:
            self._offsets.popleft()
        while self._offsets and self._offsets[-1][1] >= offset:
            self._offsets.pop()  # never the least again: a later point is as low
        self._offsets.append((t, offset))
        return self._offsets[0][1] + t - samples / SAMPLE_RATE


@dataclass
class EchoStats:
    near_seconds: float = 0.0
    far_seconds: float = 0.0
    passed_seconds: float = 0.0  # near audio that went through untouched (far idle)
    late_seconds: float = 0.0  # near audio passed because its far end came too late
    warmup_seconds: float = 0.0  # near audio passed while the canceller learnt
    double_talk_seconds: float = 0.0  # near audio passed as heard: the user spoke over the echo
    compute_seconds: float = 0.0
    hold_seconds_sum: float = 0.0  # per near block: arrival to the release of its last sample
    hold_seconds_max: float = 0.0
    blocks: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "near_seconds": round(self.near_seconds, 2),
            "far_seconds": round(self.far_seconds, 2),
            "passed_seconds": round(self.passed_seconds, 2),
            "late_seconds": round(self.late_seconds, 2),
            "warmup_seconds": round(self.warmup_seconds, 2),
            "double_talk_seconds": round(self.double_talk_seconds, 2),
            "compute_per_audio_second": round(self.compute_seconds / self.near_seconds, 4)
            if self.near_seconds
            else 0.0,
            "hold_ms_mean": round(1000 * self.hold_seconds_sum / self.blocks, 1)
            if self.blocks
            else 0.0,
            "hold_ms_max": round(1000 * self.hold_seconds_max, 1),
        }


@dataclass
class _Pending:
    """Samples of one stream, not yet framed or processed, with the time of the first."""

    start: float = 0.0
    samples: deque[np.ndarray] = field(default_factory=deque)
    count: int = 0
    held_since: deque[tuple[int, float]] = field(default_factory=deque)  # (sample end, arrival)

    def add(self, chunk: np.ndarray, start: float, arrived: float) -> None:
        # the stream's clock places the block; what still waits comes just before it, so the
        # timeline follows the clock (drift, a late first block) instead of the sample count
        self.start = start - self.count / SAMPLE_RATE
        self.samples.append(chunk)
        self.count += chunk.size
        self.held_since.append((self.count, arrived))

    def take(self, n: int) -> np.ndarray:
        out = np.empty(n, np.float32)
        got = 0
        while got < n:
            head = self.samples[0]
            k = min(n - got, head.size)
            out[got : got + k] = head[:k]
            if k == head.size:
                self.samples.popleft()
            else:
                self.samples[0] = head[k:]
            got += k
        self.count -= n
        self.start += n / SAMPLE_RATE
        self.held_since = deque((end - n, t) for end, t in self.held_since)
        return out

    def released(self) -> list[float]:
        """Arrival times of the blocks whose last sample has been taken."""
        done = []
        while self.held_since and self.held_since[0][0] <= 0:
            done.append(self.held_since.popleft()[1])
        return done


@dataclass
class _Work:
    """Frames for the canceller: ``far[k]`` goes in before ``near[far_before[k]]``."""

    near: list[np.ndarray] = field(default_factory=list)
    far: list[np.ndarray] = field(default_factory=list)
    far_before: list[int] = field(default_factory=list)
    cancel: bool = True
    tail: Optional[np.ndarray] = None  # the last, part frame at the end: passed as it is


def _to_int16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


class EchoCanceller:
    """Takes the microphone (``near``) and the system audio (``far``) from their capture
    threads and hands the microphone, echo removed, to ``sink`` from its own thread."""

    def __init__(
        self,
        sink: Sink,
        options: EchoOptions = EchoOptions(),
        processor_factory: Callable[[], FrameProcessor] = WebRtcProcessor,
        clock: Callable[[], float] = time.monotonic,
        name: str = "echo",
    ) -> None:
        self._sink = sink
        self.options = options
        self._processor = processor_factory()  # raises EchoUnavailable
        self._clock = clock
        self._cond = threading.Condition()
        self._near = _Pending()
        self._far = _Pending()
        self._near_clock = StreamClock()
        self._far_clock = StreamClock()
        self._far_seen: Optional[float] = None  # arrival of the last far block
        self._stop = False
        self._far_since: Optional[float] = None  # when the far end (re)started
        self._far_active_seconds = 0.0  # far-end sound the canceller has learnt from
        self._double_talk_ratio = 10 ** (options.double_talk_db / 10)
        self._double_talk_frames = 0  # frames the microphone still passes as heard
        self._heard_tail = np.zeros(AEC_DELAY_SAMPLES, np.float32)
        self.stats = EchoStats()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- the capture threads -----------------------------------------------------------------

    def near(self, chunk: np.ndarray) -> None:
        self._push(self._near, self._near_clock, chunk, far=False)

    def far(self, chunk: np.ndarray) -> None:
        self._push(self._far, self._far_clock, chunk, far=True)

    def _push(self, pending: _Pending, clock: StreamClock, chunk: np.ndarray, far: bool) -> None:
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if chunk.size == 0:
            return
        now = self._clock()
        with self._cond:
            if self._stop:
                return
            start = clock.stamp(chunk.size, now)
            if far:
                self._far_seen = now
                self.stats.far_seconds += chunk.size / SAMPLE_RATE
            else:
                self.stats.near_seconds += chunk.size / SAMPLE_RATE
            pending.add(chunk, start, now)
            self._cond.notify()

    def close(self, timeout: float = 1.0) -> None:
        """Deliver what the microphone gave so far, then stop."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the canceller's thread ------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                work = self._ready_work()
                while work is None and not self._stop:
                    self._cond.wait(self._wait_seconds())
                    work = self._ready_work()
                if work is None:  # stopping: the rest of the microphone, with what far is here
                    work = self._rest()
                    stopping = True
                else:
                    stopping = False
                released = self._near.released()
            out = self._process(work)
            now = self._clock()
            for arrived in released:
                hold = now - arrived
                self.stats.blocks += 1
                self.stats.hold_seconds_sum += hold
                self.stats.hold_seconds_max = max(self.stats.hold_seconds_max, hold)
            if out.size:
                try:
                    self._sink(out)
                except Exception as exc:  # the engine side must not stop the canceller
                    log.debug("echo canceller: sink refused audio: %s", exc)
            if stopping:
                return

    def _far_idle(self, now: float) -> bool:
        return self._far_seen is None or now - self._far_seen > self.options.far_idle_seconds

    def _settled(self, now: float) -> bool:
        """The far end plays and its clock has had time to settle since it (re)started."""
        return (
            not self._far_idle(now)
            and self._far_since is not None
            and now - self._far_since >= self.options.settle_seconds
        )

    def _ready_work(self) -> Optional[_Work]:
        """The frames that can go now, far and near interleaved in time order (under the
        lock), or None while the near end must wait for the far end.

        AEC3 locks onto a wrong delay for good when it first sees the echo before its
        reference, so near frames pass through untouched (and the canceller does not see them)
        while the far end is idle, while its clock settles after it (re)started, and when it
        is late."""
        if self._near.count < FRAME:
            return None
        now = self._clock()
        lead = self.options.lead_seconds
        whole = self._near.count // FRAME
        if self._far_idle(now):
            self._far_since = None
            return self._pass(whole)
        if self._far_since is None:
            self._far_since = now
        if not self._settled(now):
            return self._pass(whole)
        far_end = self._far.start + self._far.count / SAMPLE_RATE
        ready = 0  # near frames whose far end (up to their end + lead) is here
        while ready < whole and far_end >= self._near.start + (ready + 1) * FRAME_SECONDS + lead:
            ready += 1
        if ready == 0:
            oldest_arrival = self._near.held_since[0][1] if self._near.held_since else now
            if now - oldest_arrival < self.options.max_wait_seconds:
                return None
            self.stats.late_seconds += whole * FRAME_SECONDS
            return self._pass(whole)
        return self._interleave(ready)

    def _interleave(self, frames: int) -> _Work:
        """``frames`` near frames to cancel, each after the far frames up to its time + lead."""
        self._drop_stale_far()
        lead = self.options.lead_seconds
        work = _Work(cancel=True)
        for _ in range(frames):
            near_start = self._near.start
            while self._far.count >= FRAME and self._far.start <= near_start + lead:
                work.far_before.append(len(work.near))
                work.far.append(self._far.take(FRAME))
            work.near.append(self._near.take(FRAME))
        return work

    def _pass(self, frames: int) -> _Work:
        """``frames`` near frames untouched; the far end of their time is spent with them."""
        near = [self._near.take(FRAME) for _ in range(frames)]
        until = self._near.start + self.options.lead_seconds
        while self._far.count >= FRAME and self._far.start + FRAME_SECONDS <= until:
            self._far.take(FRAME)
        return _Work(near=near, cancel=False)

    def _rest(self) -> _Work:
        """Everything the microphone gave, at the end: whole frames as usual, with the far
        end that is here; a last part frame untouched."""
        now = self._clock()
        whole = self._near.count // FRAME
        work = self._interleave(whole) if self._settled(now) else self._pass(whole)
        if self._near.count:
            work.tail = self._near.take(self._near.count)
        return work

    def _drop_stale_far(self) -> None:
        """Far audio much older than the microphone's (the microphone stalled, or started
        late) is no reference for anything it will still hear."""
        stale = self._near.start - FAR_KEEP_SECONDS - self._far.start
        n = min(int(stale * SAMPLE_RATE) // FRAME * FRAME, self._far.count // FRAME * FRAME)
        if n > 0:
            self._far.take(n)

    def _wait_seconds(self) -> float:
        if not self._near.held_since:
            return 0.5
        waited = self._clock() - self._near.held_since[0][1]
        return max(0.005, min(self.options.max_wait_seconds - waited, 0.05))

    def _process(self, work: _Work) -> np.ndarray:
        out = self._cancel(work) if work.cancel else self._passed(work.near)
        if work.tail is not None and work.tail.size:
            out = np.concatenate([out, work.tail])
        return out

    def _passed(self, near: list[np.ndarray]) -> np.ndarray:
        self.stats.passed_seconds += len(near) * FRAME_SECONDS
        return np.concatenate(near) if near else np.zeros(0, np.float32)

    def _in_step(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` delayed as AEC3 delays what it returns, so the two can be switched."""
        both = np.concatenate([self._heard_tail, frame])
        self._heard_tail = both[FRAME:]
        return both[:FRAME]

    def _double_talk(self, frame: np.ndarray, cleaned: np.ndarray) -> bool:
        """The user speaks over the echo: most of the frame survived the canceller.

        AEC3 suppresses hard while both ends talk, which costs Whisper the user's words; with
        the echo below the user's voice, the frame as the microphone heard it reads better.
        Where only the echo played, the canceller leaves tens of dB less, and what it leaves
        (a residual while it re-adapts, say to drifting clocks) is quieter than a voice: that
        stays cleaned.
        """
        heard = float(np.dot(frame, frame)) + 1e-10
        kept = float(np.dot(cleaned, cleaned))
        if kept >= DOUBLE_TALK_ENERGY and kept >= heard * self._double_talk_ratio:
            self._double_talk_frames = self.options.double_talk_hangover_frames
        elif self._double_talk_frames > 0:
            self._double_talk_frames -= 1
        return self._double_talk_frames > 0

    def _cancel(self, work: _Work) -> np.ndarray:
        """AEC3 over the frames. Until the far end has played ``warmup_seconds`` the
        canceller learns but its output is not used: in its first seconds AEC3 suppresses
        hard (beyond its own 2.5 s initial state), and would take the user's first words with
        the echo; the text guard covers the echo of those seconds."""
        t0 = time.thread_time()  # CPU time: what the canceller costs, whatever else runs
        out = np.empty(len(work.near) * FRAME, np.float32)
        fed = 0
        for i, frame in enumerate(work.near):
            while fed < len(work.far) and work.far_before[fed] <= i:
                far = _to_int16(work.far[fed])
                self._processor.far(far)
                if np.abs(far).max() >= ACTIVE_FAR_PEAK:
                    self._far_active_seconds += FRAME_SECONDS
                fed += 1
            cleaned = self._processor.near(_to_int16(frame)).astype(np.float32) / 32767.0
            heard = self._in_step(frame)  # the frame as heard, as late as AEC3's output
            if self._far_active_seconds < self.options.warmup_seconds:
                out[i * FRAME : (i + 1) * FRAME] = heard
                self.stats.warmup_seconds += FRAME_SECONDS
            elif self._double_talk(heard, cleaned):
                out[i * FRAME : (i + 1) * FRAME] = heard
                self.stats.double_talk_seconds += FRAME_SECONDS
            else:
                out[i * FRAME : (i + 1) * FRAME] = cleaned
        self.stats.compute_seconds += time.thread_time() - t0
        return out
