"""What the example client streams: a WAV file in real time, or a live capture.

Live captures come from :mod:`server_core.audio.sources`, the same layer the desktop app uses,
run on its threads and handed to the client's asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Optional

import numpy as np

from server_core.audio.echo import REFERENCE_BLOCK_SECONDS, EchoCanceller, EchoUnavailable
from server_core.audio.files import read_wav
from server_core.audio.sources import (
    AudioSource,
    Capture,
    CaptureState,
    LoopbackSource,
    MicSource,
    Sink,
)
from server_core.config import SAMPLE_RATE

log = logging.getLogger(__name__)

LIVE_BACKLOG_SECONDS = 30.0
PROG = "whisper-desktop-client"


def warn(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


class Feed:
    """Frames of float32 audio at 16 kHz; ``finite`` feeds end (and then the client ends)."""

    finite = False
    failed = False
    label = "audio"

    async def frames(self) -> AsyncIterator[np.ndarray]:
        raise NotImplementedError
        yield  # pragma: no cover

    def stop(self) -> None:
        """End the feed soon: what was captured is still delivered, then frames() ends."""

    def close(self) -> None:
        pass


class FileFeed(Feed):
    """A WAV file streamed at ``speed`` times real time; resumes where it was after a
    reconnect."""

    finite = True

    def __init__(self, path: str, speed: float = 1.0, frame_ms: int = 100) -> None:
        self.audio = read_wav(path)
        self.label = path
        self.speed = speed
        self.frame = max(1, int(SAMPLE_RATE * frame_ms / 1000))
        self.position = 0  # samples handed out so far
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    async def frames(self) -> AsyncIterator[np.ndarray]:
        t0 = time.monotonic()
        start = self.position
        while self.position < self.audio.shape[0] and not self.stopped:
            due = t0 + (self.position - start) / SAMPLE_RATE / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            chunk = self.audio[self.position : self.position + self.frame]
            self.position += chunk.shape[0]
            yield chunk


class LiveFeed(Feed):
    """A live source captured on its own threads; buffered (bounded) while the server is
    unreachable. A device that fails ends the feed (``failed``), it is not retried."""

    def __init__(
        self,
        label: str,
        source: AudioSource,
        through: Optional[Callable[[Sink], Sink]] = None,
        on_close: Optional[Callable[[], None]] = None,
    ) -> None:
        self.label = label
        self.source = source
        self._through = through  # what the captured audio passes on its way (echo cancelling)
        self._on_close = on_close
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._queue: deque[np.ndarray] = deque()
        self._queued = 0
        self._event: Optional[asyncio.Event] = None
        self._stopped = False
        self._capture: Optional[Capture] = None
        self.dropped = 0.0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        sink = self._through(self._deliver) if self._through is not None else self._deliver
        self._capture = Capture(
            self.source, sink, on_state=self._state, retry=False, name=self.label
        )
        self._capture.start()

    def _call_in_loop(self, fn, *args) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                self._loop.call_soon_threadsafe(fn, *args)

    def _deliver(self, chunk: np.ndarray) -> None:  # capture thread
        self._call_in_loop(self._put, chunk)

    def _state(self, state: CaptureState, detail: str) -> None:  # capture thread
        if state is CaptureState.FAILED:
            warn(f"{self.label} capture failed: {detail}")
            self._call_in_loop(self._fail)

    def _fail(self) -> None:
        self.failed = True
        self.stop()

    def _put(self, chunk: np.ndarray) -> None:
        if self._stopped:
            return
        self._queue.append(np.asarray(chunk, dtype=np.float32).reshape(-1))
        self._queued += chunk.size
        limit = int(LIVE_BACKLOG_SECONDS * SAMPLE_RATE)
        while self._queued > limit and len(self._queue) > 1:
            old = self._queue.popleft()
            self._queued -= old.size
            self.dropped += old.size / SAMPLE_RATE
            if self.dropped == old.size / SAMPLE_RATE or int(self.dropped) % 10 == 0:
                warn(f"{self.label}: server unreachable, dropped {self.dropped:.1f} s of audio")
        assert self._event is not None
        self._event.set()

    async def frames(self) -> AsyncIterator[np.ndarray]:
        assert self._event is not None
        while True:
            if self._queue:
                chunk = self._queue.popleft()
                self._queued -= chunk.size
                yield chunk
            elif self._stopped:
                return
            else:
                self._event.clear()
                await self._event.wait()

    def stop(self) -> None:
        self._stopped = True
        if self._capture is not None:
            self._capture.stop(timeout=0)
        if self._event is not None:
            self._call_in_loop(self._event.set)

    def close(self) -> None:
        self.stop()
        if self._capture is not None:
            self._capture.stop(timeout=2.0)
        if self._on_close is not None:
            self._on_close()


class EchoLink:
    """``--both``: the system audio is the reference that cleans the microphone of what the
    speakers play (:mod:`server_core.audio.echo`)."""

    def __init__(self) -> None:
        self.canceller: Optional[EchoCanceller] = None

    def microphone(self, deliver: Sink) -> Sink:
        try:
            self.canceller = EchoCanceller(deliver, name="echo-canceller")
        except EchoUnavailable as exc:
            warn(f"no echo cancellation: {exc}")
            return deliver
        return self.canceller.near

    def system(self, deliver: Sink) -> Sink:
        def tee(chunk: np.ndarray) -> None:
            deliver(chunk)
            if self.canceller is not None:
                self.canceller.far(chunk)

        return tee

    def close(self) -> None:
        if self.canceller is not None:
            self.canceller.close(timeout=1.0)


def both_feeds(echo_cancellation: bool) -> list[tuple[str, Feed]]:
    """The microphone as ``user`` and the system audio as ``system``."""
    if not echo_cancellation:
        return [
            ("user", LiveFeed("microphone", MicSource())),
            ("system", LiveFeed("system audio", LoopbackSource())),
        ]
    link = EchoLink()
    mic = LiveFeed("microphone", MicSource(), through=link.microphone, on_close=link.close)
    loopback = LoopbackSource(block_seconds=REFERENCE_BLOCK_SECONDS)
    return [("user", mic), ("system", LiveFeed("system audio", loopback, through=link.system))]
