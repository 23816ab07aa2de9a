"""A tiny stand-in for `server_core.engine.Engine`, for fast protocol tests only.

It follows docs/engine_api.md: listeners are called from the engine's own thread; every full
second of pushed audio becomes one word " w<N>"; `end()` flushes the rest (final) and closes.
The "Must show" tests never use it: they run the real engine with real weights.
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from server_core.contract import SessionInfo, check_chunk
from server_core.errors import DuplicateSessionError, SessionClosedError
from server_core.events import ClosedEvent, NoticeEvent, TranscriptEvent

SR = 16000


class FakeSession:
    def __init__(self, engine: FakeEngine, client_id: str, listener, language, meta) -> None:
        self.engine, self.client_id, self.listener = engine, client_id, listener
        self.language, self.meta = language, dict(meta or {})
        self.received = 0
        self.emitted_words = 0
        self.ending = False
        self.aborted = False
        self.closed = threading.Event()
        self.chunks: list[np.ndarray] = []

    def push(self, chunk: np.ndarray) -> None:
        check_chunk(chunk)
        if self.ending or self.aborted:
            raise SessionClosedError(self.client_id)
        self.chunks.append(chunk)
        self.received += chunk.size
        self.engine.later(self._step)

    def _step(self) -> None:
        while not self.aborted and (self.emitted_words + 1) * SR <= self.received:
            self.emitted_words += 1
            n = self.emitted_words
            self._emit(TranscriptEvent(self.client_id, f" w{n}", n - 1.0, float(n), False))

    def end(self) -> None:
        self.ending = True

        def flush() -> None:
            self._step()
            if self.aborted:
                return
            n = self.emitted_words
            self._emit(
                TranscriptEvent(self.client_id, " last.", float(n), self.received / SR, True)
            )
            self._emit(ClosedEvent(self.client_id))
            self.closed.set()
            self.engine.forget(self)

        self.engine.later(flush)

    def abort(self) -> None:
        self.aborted = True
        self.closed.set()
        self.engine.forget(self)
        self.engine.aborted.append(self.client_id)

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self.closed.wait(timeout)

    def notice(self, code: str, message: str) -> None:
        self.engine.later(lambda: self._emit(NoticeEvent(self.client_id, code, message, 1.5)))

    def _emit(self, event) -> None:
        if not self.aborted:
            self.listener(event)

    @property
    def lag(self) -> float:
        return max(0.0, self.received / SR - self.emitted_words)

    @property
    def state(self) -> str:
        return "flushing" if self.ending else "speech"


class FakeEngine:
    def __init__(self, model: str = "fake", language: str = "en") -> None:
        self.model_name, self.language = model, language
        self._sessions: dict[str, FakeSession] = {}
        self._lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self.aborted: list[str] = []
        self.reconfigured: list[tuple] = []
        self._thread = threading.Thread(target=self._loop, daemon=True, name="fake-engine")
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def later(self, job) -> None:
        self._jobs.put(job)

    def open_session(self, client_id, listener, *, language=None, meta=None) -> FakeSession:
        with self._lock:
            if client_id in self._sessions:
                raise DuplicateSessionError(client_id)
            s = FakeSession(self, client_id, listener, language, meta)
            self._sessions[client_id] = s
            return s

    def forget(self, s: FakeSession) -> None:
        with self._lock:
            if self._sessions.get(s.client_id) is s:
                del self._sessions[s.client_id]

    def get_session(self, client_id: str) -> FakeSession | None:
        return self._sessions.get(client_id)

    def sessions(self) -> list[SessionInfo]:
        return [
            SessionInfo(
                s.client_id, s.state, s.lag, s.received / SR, s.emitted_words, s.language, s.meta
            )
            for s in list(self._sessions.values())
        ]

    def reconfigure(self, model=None, language=None) -> None:
        if model == "missing-model":
            raise ValueError("no such model: missing-model")
        self.reconfigured.append((model, language))
        if model:
            self.model_name = model
        if language:
            self.language = language

    def stop(self, flush: bool = True) -> None:
        for s in list(self._sessions.values()):
            s.end() if flush else s.abort()
        self._jobs.put(None)
        self._thread.join(5)
