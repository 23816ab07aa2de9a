"""The one stand-in for ``server_core.engine.Engine``, for fast protocol and desktop tests.

It implements the contract of server_core/contract.py (EngineHandle, SessionHandle, SessionInfo
with SessionState) and, like the real engine, calls listeners only from its own thread. What it
"hears" is scripted: every ``word_seconds`` of pushed audio becomes the word " w<N>"; ``end()``
flushes the rest as ``final_text`` (final) and closes; ``abort()`` delivers only
``ClosedEvent(reason=ABORTED)``. ``FakeSession.notice`` and ``reconfigure("missing-model")``
script the rest; ``calls`` notes each EngineHandle call and the thread it came from.
Observers (``add_observer``) hear an OpenedEvent and then every event of every session, on the
engine's thread, after the session's listener, as with the real engine.
The "Must show" tests never use it: they run the real engine with real weights.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Optional

import numpy as np

from server_core.contract import SessionInfo, SessionState, check_chunk
from server_core.errors import DuplicateSessionError, EngineError, SessionClosedError
from server_core.events import (
    ClosedEvent,
    CloseReason,
    Listener,
    NoticeEvent,
    Observer,
    TranscriptEvent,
)
from server_core.observers import Observers

log = logging.getLogger(__name__)
SR = 16000


class FakeSession:
    def __init__(
        self,
        engine: FakeEngine,
        client_id: str,
        listener: Listener,
        language: Optional[str],
        meta: Optional[dict],
    ) -> None:
        self.engine, self.client_id, self.listener = engine, client_id, listener
        self.language, self.meta = language, dict(meta or {})
        self.received = 0
        self.paused = False
        self.emitted_words = 0
        self.ending = False
        self.aborted = False
        self.closed = threading.Event()
        self.chunks: list[np.ndarray] = []
        self.options = None  # the SessionOptions it was opened with

    # -- SessionHandle (any thread) ------------------------------------------------------------

    def push(self, audio: np.ndarray) -> None:
        check_chunk(audio)
        if self.ending or self.aborted or self.closed.is_set():
            raise SessionClosedError(self.client_id)
        self.chunks.append(audio)
        self.received += audio.size
        self.engine.later(self._step)

    def end(self) -> None:
        if self.ending or self.aborted:
            return
        self.ending = True
        self.engine.later(self._flush)

    def abort(self) -> None:
        if self.aborted or self.closed.is_set():
            return
        self.aborted = True
        self.engine.forget(self)
        self.engine.aborted.append(self.client_id)
        self.engine.later(lambda: self._close(CloseReason.ABORTED))

    def wait_closed(self, timeout: Optional[float] = None) -> bool:
        return self.closed.wait(timeout)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused

    @property
    def lag(self) -> float:
        return max(0.0, self.received / SR - self.emitted_words * self.engine.word_seconds)

    @property
    def state(self) -> SessionState:
        if self.closed.is_set() or self.aborted:
            return SessionState.CLOSED
        if self.ending:
            return SessionState.FLUSHING
        return SessionState.SPEECH if self.received else SessionState.IDLE

    def info(self) -> SessionInfo:
        return SessionInfo(
            self.client_id,
            self.state,
            self.lag,
            self.received / SR,
            self.emitted_words * self.engine.word_seconds,
            self.language,
            self.meta,
        )

    # -- scripting hooks -----------------------------------------------------------------------

    def notice(self, code: str, message: str) -> None:
        self.engine.later(lambda: self._emit(NoticeEvent(self.client_id, code, message, 1.5)))

    # -- the engine's thread -------------------------------------------------------------------

    def _step(self) -> None:
        step = self.engine.word_seconds
        while not self.aborted and (self.emitted_words + 1) * step * SR <= self.received:
            self.emitted_words += 1
            n = self.emitted_words
            self._emit(TranscriptEvent(self.client_id, f" w{n}", (n - 1) * step, n * step, False))

    def _flush(self) -> None:
        self._step()
        if self.aborted or self.closed.is_set():
            return
        start = self.emitted_words * self.engine.word_seconds
        end = max(start, self.received / SR)
        self._emit(TranscriptEvent(self.client_id, self.engine.final_text, start, end, True))
        self._close(CloseReason.ENDED)

    def _emit(self, event: TranscriptEvent | NoticeEvent) -> None:
        if not self.aborted and not self.closed.is_set():
            self.listener(event)

    def _close(self, reason: CloseReason) -> None:
        """Forgotten first, then the ClosedEvent (once), as the real engine does."""
        if self.closed.is_set():
            return
        self.engine.forget(self)
        self.listener(ClosedEvent(self.client_id, reason))
        self.closed.set()


class FakeEngine:
    def __init__(
        self,
        model: str = "fake",
        language: str = "en",
        *,
        word_seconds: float = 1.0,
        final_text: str = " last.",
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.model_name, self.language = model, language
        self.device, self.dtype = "cpu", "float32"
        self.word_seconds, self.final_text = word_seconds, final_text
        self._progress = progress
        self._sessions: dict[str, FakeSession] = {}
        self._lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self.aborted: list[str] = []
        self.reconfigured: list[tuple] = []
        self.reconfigured_options: list = []
        self.stopped = False
        self.calls: list[tuple[str, int]] = []  # (EngineHandle method, thread ident)
        self._observers = Observers()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="fake-engine")
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:  # a broken listener must not take the engine down
                log.exception("fake engine job failed")

    def later(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the engine's thread, after everything queued before it."""
        self._jobs.put(job)

    # -- EngineHandle --------------------------------------------------------------------------

    def _called(self, method: str) -> None:
        self.calls.append((method, threading.get_ident()))

    def start(self) -> None:
        self._called("start")
        if self._progress is not None:
            self._progress("loading the fake model")

    def open_session(
        self, client_id, listener, *, language=None, meta=None, options=None
    ) -> FakeSession:
        self._called("open_session")
        if options is not None:
            options.validate()
        with self._lock:
            if self.stopped:
                raise EngineError("the engine has stopped")
            if client_id in self._sessions:
                raise DuplicateSessionError(client_id)
            s = FakeSession(self, client_id, self._observers.wrap(listener), language, meta)
            s.options = options
            self._sessions[client_id] = s
        self.later(lambda: self._observers.opened(client_id, meta))
        return s

    def add_observer(self, observer: Observer) -> Callable[[], None]:
        self._called("add_observer")
        return self._observers.add(observer)

    def sessions(self) -> list[SessionInfo]:
        self._called("sessions")
        with self._lock:
            open_now = list(self._sessions.values())
        return [s.info() for s in open_now]

    def reconfigure(
        self, model: Optional[str] = None, language: Optional[str] = None, options=None
    ) -> None:
        self._called("reconfigure")
        if model == "missing-model":
            raise ValueError("no such model: missing-model")
        if options is not None:
            options.validate()
            self.reconfigured_options.append(options)
        self.reconfigured.append((model, language))
        if model:
            self.model_name = model
        if language:
            self.language = language

    def stop(self, flush: bool = True, timeout: float = 30.0) -> None:
        """Flush (or close) every session, then end the engine's thread."""
        self._called("stop")
        with self._lock:
            self.stopped = True
            open_now = list(self._sessions.values())
        for s in open_now:
            if flush:
                s.end()
            else:
                self.later(lambda s=s: s._close(CloseReason.ENGINE_STOPPED))
        self._jobs.put(None)
        self._thread.join(timeout)

    # -- test helpers --------------------------------------------------------------------------

    def forget(self, s: FakeSession) -> None:
        with self._lock:
            if self._sessions.get(s.client_id) is s:
                del self._sessions[s.client_id]

    def get_session(self, client_id: str) -> FakeSession | None:
        with self._lock:
            return self._sessions.get(client_id)
