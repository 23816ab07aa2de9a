"""A session's inbox: the only part of a session that other threads touch."""

from __future__ import annotations

import threading
from collections import deque
from enum import Enum

import numpy as np

from server_core.contract import check_chunk
from server_core.errors import SessionClosedError


class SessionStatus(str, Enum):
    OPEN = "open"  # accepting audio
    ENDING = "ending"  # end() called: flush what was accepted, then close
    ABORTED = "aborted"  # abort() called: forget everything
    CLOSED = "closed"  # the ClosedEvent was delivered


class Inbox:
    """Audio pushed from any thread, waiting for the engine's loop to take it."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._lock = threading.Lock()
        self._chunks: deque[np.ndarray] = deque()
        self._received = 0  # samples accepted
        self._status = SessionStatus.OPEN
        self._closed = threading.Event()

    def push(self, audio: np.ndarray) -> None:
        audio = check_chunk(audio)
        with self._lock:
            if self._status is not SessionStatus.OPEN:
                raise SessionClosedError(f"session {self.client_id!r} is closed")
            if audio.size:
                self._chunks.append(audio.copy())
                self._received += int(audio.shape[0])

    def end(self) -> bool:
        """True if this call moved the session to ENDING."""
        with self._lock:
            if self._status is not SessionStatus.OPEN:
                return False
            self._status = SessionStatus.ENDING
            return True

    def abort(self) -> bool:
        """True if this call aborted the session (it was not closed already)."""
        with self._lock:
            if self._status in (SessionStatus.ABORTED, SessionStatus.CLOSED):
                return False
            self._status = SessionStatus.ABORTED
            self._chunks.clear()
            return True

    def take(self, max_samples: int | None = None) -> tuple[list[np.ndarray], bool]:
        """(the oldest chunks, at least one and about ``max_samples`` if given; whether end()
        was called and nothing is left behind them)."""
        with self._lock:
            chunks: list[np.ndarray] = []
            taken = 0
            while self._chunks and (max_samples is None or taken < max_samples):
                chunks.append(self._chunks.popleft())
                taken += chunks[-1].shape[0]
            return chunks, self._status is SessionStatus.ENDING and not self._chunks

    def has_audio(self) -> bool:
        with self._lock:
            return bool(self._chunks)

    def mark_closed(self) -> None:
        with self._lock:
            if self._status is not SessionStatus.ABORTED:
                self._status = SessionStatus.CLOSED
        self._closed.set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self._closed.wait(timeout)

    @property
    def status(self) -> SessionStatus:
        return self._status

    @property
    def received(self) -> int:
        return self._received

    @property
    def closed(self) -> bool:
        return self._closed.is_set()
