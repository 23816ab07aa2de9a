"""The engine's contract (no torch): what the network layer, the desktop and the test fakes
rely on. ``server_core.engine.Engine`` implements it; so does the one fake in tests/support.

Listeners are called from the engine's own thread and must not block: hand the event to an
asyncio loop (``call_soon_threadsafe``) or emit a Qt signal. Observers (``add_observer``) are
the same, for every session at once: the caption feed uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Protocol, runtime_checkable

import numpy as np

from server_core.config import SessionOptions
from server_core.events import Listener, Observer


class SessionState(str, Enum):
    IDLE = "idle"  # open, no speech pending
    SPEECH = "speech"  # speech heard or being decoded
    FLUSHING = "flushing"  # end() called, final text on its way
    CLOSED = "closed"  # ClosedEvent delivered


@dataclass(frozen=True)
class SessionInfo:
    client_id: str
    state: SessionState
    lag: float  # seconds of audio received but not yet decoded
    received_seconds: float
    processed_seconds: float
    language: Optional[str] = None
    meta: dict = field(default_factory=dict)


@runtime_checkable
class SessionHandle(Protocol):
    client_id: str

    def push(self, audio: np.ndarray) -> None:
        """1-D float32 at 16 kHz; thread-safe, returns at once. ValueError on a bad array,
        SessionClosedError after end() or abort()."""

    def end(self) -> None:
        """Flush: the remaining text follows (the last event final), then a ClosedEvent."""

    def abort(self) -> None:
        """Forget the session now; the listener gets only ClosedEvent(reason=ABORTED)."""

    def wait_closed(self, timeout: Optional[float] = None) -> bool: ...

    def set_paused(self, paused: bool) -> None:
        """A paused session keeps its audio, state and context but gets no engine time until
        it is unpaused (its client is away and may resume). Thread-safe."""

    @property
    def lag(self) -> float: ...

    @property
    def state(self) -> SessionState: ...


@runtime_checkable
class EngineHandle(Protocol):
    @property
    def model_name(self) -> str: ...

    @property
    def language(self) -> str: ...

    @property
    def device(self) -> str:
        """The torch device the model runs on: ``cpu``, ``cuda`` or ``cuda:N``."""

    @property
    def dtype(self) -> str:
        """What the model computes in: ``float32``, ``float16`` or ``int8`` (linear layers)."""

    def open_session(
        self,
        client_id: str,
        listener: Listener,
        *,
        language: Optional[str] = None,
        meta: Optional[dict] = None,
        options: Optional[SessionOptions] = None,
    ) -> SessionHandle:
        """DuplicateSessionError if the id is open; EngineError if the engine is not running;
        ValueError for bad options."""

    def sessions(self) -> list[SessionInfo]: ...

    def reconfigure(
        self,
        model: Optional[str] = None,
        language: Optional[str] = None,
        options: Optional[SessionOptions] = None,
    ) -> None:
        """Blocking; switches without dropping sessions. ModelError/ValueError leave the old.
        ``options`` sets the task and prompts of sessions that did not choose their own."""

    def add_observer(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer`` on the engine's thread with an OpenedEvent for each new session and
        every event of every session (WebSocket clients and in-process ones alike), after the
        session's own listener; it must not block. Returns the function that removes it."""

    def stop(self, flush: bool = True, timeout: float = 30.0) -> None: ...


def check_chunk(audio: object) -> np.ndarray:
    """What ``SessionHandle.push`` accepts; ValueError (one line) for anything else."""
    if not isinstance(audio, np.ndarray):
        raise ValueError(f"audio must be a numpy array, not {type(audio).__name__}")
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D mono, got shape {audio.shape}")
    if audio.dtype != np.float32:
        raise ValueError(f"audio must be float32, got {audio.dtype}")
    if not np.isfinite(audio).all():
        raise ValueError("audio contains NaN or Inf")
    return audio
