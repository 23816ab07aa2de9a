"""The engine host: one :class:`EngineWorker` on one QThread, and :class:`EngineHost`, its facade
on the GUI thread.

The worker owns the engine, the local WebSocket server and the two local sessions. Everything
slow or blocking (loading a model, switching it, binding the server, flushing at quit) runs on
its thread, one request at a time: requests arrive as queued signal-to-slot calls, in the order
they were made, and results and engine events leave only as signals, which Qt queues to the GUI
thread. The facade keeps what the GUI shows (state, model, server address) and writes it only
from those signals.

One path crosses threads directly: :meth:`EngineWorker.feed`, called by the capture threads,
pushes audio into a local session (the engine's inbox is thread-safe). The map of open local
sessions it reads is written only by the worker and replaced whole, never changed in place.

Remote clients' events are observed by handing the server an :class:`ObservedEngine`: it forwards
everything to the real engine and tees each session's events to the host as well. Every session
ends with a ``ClosedEvent`` (also when aborted), which is how the host learns it is gone.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from server_core.config import SessionOptions
from server_core.contract import SessionHandle
from server_core.errors import SessionClosedError
from server_core.events import ClosedEvent, NoticeEvent, TranscriptEvent, UtteranceEvent

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 4.5  # quit must be done within 5 s
CLOSE_WAIT_SECONDS = 5.0  # a local session reopened while its previous one still flushes


class HostState:
    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True)
class HostConfig:
    model: str
    language: str
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    final_pass: bool = True  # decode each finished utterance again, whole (utterance events)
    server_enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9000
    token: str | None = None
    max_clients: int = 8
    tls_enabled: bool = True  # off loopback: HTTPS/WSS (server_core/net/tls.py)
    tls_certfile: str = ""  # the user's certificate; "" = a self-signed one
    tls_keyfile: str = ""
    tls_dir: str = ""  # where the self-signed pair lives; "" = the default data folder's tls/


@dataclass(frozen=True)
class ServerInfo:
    url: str = ""
    ws_url: str = ""
    lan_url: str = ""
    token: str = ""
    fingerprint: str = ""  # SHA-256 of the TLS certificate; "" when plain http/ws
    error: str = ""

    @property
    def running(self) -> bool:
        return bool(self.ws_url)


EngineFactory = Callable[[HostConfig, Callable[[str], None]], Any]
ServerFactory = Callable[[Any, HostConfig], Any]


def default_engine_factory(config: HostConfig, progress: Callable[[str], None]) -> Any:
    from server_core.config import DecodeOptions, EngineConfig
    from server_core.engine import Engine

    return Engine(
        EngineConfig(
            model=config.model,
            device=config.device,
            decode=DecodeOptions(language=config.language),
            final_pass=config.final_pass,
        ),
        progress=progress,
    )


def default_server_factory(engine: Any, config: HostConfig) -> Any:
    from server_core.net.server import LocalServer, ServerOptions
    from server_core.net.tls import TlsOptions

    tls = TlsOptions(
        certfile=Path(config.tls_certfile).expanduser() if config.tls_certfile else None,
        keyfile=Path(config.tls_keyfile).expanduser() if config.tls_keyfile else None,
        enabled=config.tls_enabled,
        directory=Path(config.tls_dir) if config.tls_dir else None,
    )
    return LocalServer(
        engine,
        ServerOptions(
            host=config.host,
            port=config.port,
            token=config.token or None,
            max_clients=config.max_clients,
            tls=tls,
        ),
    )


class ObservedEngine:
    """The engine as the server sees it: identical, except that events are also reported."""

    def __init__(
        self,
        engine: Any,
        on_event: Callable[[Any], None],
        on_open: Callable[[str, dict], None],
    ) -> None:
        self._engine = engine
        self._on_event = on_event
        self._on_open = on_open

    def open_session(self, client_id: str, listener: Callable[[Any], None], **kwargs: Any) -> Any:
        def tee(event: Any) -> None:
            try:
                listener(event)
            finally:
                self._on_event(event)

        session = self._engine.open_session(client_id, tee, **kwargs)
        self._on_open(client_id, dict(kwargs.get("meta") or {}))
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class EngineWorker(QObject):
    """Owns the engine, the server and the local sessions; lives on the host's QThread.

    Its slots run there, one at a time. It reports only through signals.
    """

    state_changed = Signal(str, str)  # HostState, detail for people
    progress = Signal(str)  # model loading progress lines
    running = Signal(str, str)  # model, language of the engine that just started
    placed = Signal(str, str)  # device, dtype of the engine that just started
    event = Signal(object)  # any session's engine event, emitted on engine threads
    session_opened = Signal(str, bool)  # client_id, is_local
    clients = Signal(list)  # [SessionInfo] every poll while running
    server_changed = Signal(object)  # ServerInfo
    reconfigured = Signal(str, str)  # model, language in use
    reconfigure_failed = Signal(str)
    stopped = Signal()

    _local_closed = Signal(str)  # a local session's ClosedEvent, back onto the worker's thread

    def __init__(
        self,
        engine_factory: EngineFactory = default_engine_factory,
        server_factory: ServerFactory = default_server_factory,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__()
        self._engine_factory = engine_factory
        self._server_factory = server_factory
        self._tasks: dict[str, str] = {}  # local session id -> its task
        self._engine: Any = None
        self._server: Any = None
        self._stopping = False
        self._model = self._language = ""
        # Open local sessions. Read by capture threads in feed(); written only here, and only by
        # replacing the whole dict.
        self._local: dict[str, SessionHandle] = {}
        self._closing: dict[str, SessionHandle] = {}  # ended, their ClosedEvent still due
        self._waiting: set[str] = set()  # open requests waiting for that ClosedEvent
        self._poll = QTimer(self)  # a child: it moves to the worker's thread with it
        self._poll.setInterval(int(poll_seconds * 1000))
        self._poll.timeout.connect(self._poll_sessions)
        self._local_closed.connect(self._on_local_closed)

    # -- requests (worker thread) --------------------------------------------------------------

    @Slot(object)
    def start(self, config: HostConfig) -> None:
        """Load the model, start the engine and, if enabled, the server."""
        self._stopping = False
        self.state_changed.emit(HostState.LOADING, f"loading model {config.model}…")
        try:
            engine = self._engine_factory(config, self.progress.emit)
            engine.start()
        except Exception as exc:
            log.error("the engine did not start: %s", exc)
            self.state_changed.emit(HostState.ERROR, _one_line(exc))
            return
        self._engine = engine
        self._model = str(getattr(engine, "model_name", config.model))
        self._language = str(getattr(engine, "language", config.language))
        self.running.emit(self._model, self._language)
        self.placed.emit(str(getattr(engine, "device", "")), str(getattr(engine, "dtype", "")))
        if config.server_enabled:
            self._start_server(config)
        self._poll.start()
        self.state_changed.emit(HostState.READY, f"{self._model} ready")

    @Slot(object)
    def restart_server(self, config: HostConfig) -> None:
        """Apply new server settings (host, port, LAN, token, on/off)."""
        self._stop_server()
        if config.server_enabled and self._engine is not None and not self._stopping:
            self._start_server(config)
        else:
            self.server_changed.emit(ServerInfo())

    @Slot(object, object)
    def reconfigure(self, model: str | None, language: str | None) -> None:
        """Switch model and/or language live; sessions stay open."""
        engine = self._engine
        if engine is None or self._stopping:
            return
        if model:
            self.state_changed.emit(HostState.LOADING, f"switching to {model}…")
        try:
            engine.reconfigure(model=model, language=language)
        except Exception as exc:
            log.error("reconfigure failed: %s", exc)
            self.reconfigure_failed.emit(_one_line(exc))
            self.state_changed.emit(HostState.READY, f"{self._model} ready")
            return
        self._model = str(getattr(engine, "model_name", model or self._model))
        self._language = str(getattr(engine, "language", language or self._language))
        self.reconfigured.emit(self._model, self._language)
        self.state_changed.emit(HostState.READY, f"{self._model} ready")

    @Slot(str, str)
    def open_local(self, client_id: str, task: str = "") -> None:
        """Open the in-process session ``client_id`` (``user``/``system``) for ``task``
        (empty: the task it was last opened for, else the engine's).

        While a previous session of that id still flushes, the open waits for its ClosedEvent
        (at most ``CLOSE_WAIT_SECONDS``) without holding up other requests.
        """
        engine = self._engine
        if task:
            self._tasks[client_id] = task
        if engine is None or self._stopping or client_id in self._local:
            return
        if client_id in self._closing:
            if client_id not in self._waiting:
                self._waiting.add(client_id)
                QTimer.singleShot(
                    int(CLOSE_WAIT_SECONDS * 1000),
                    self,
                    functools.partial(self._stop_waiting, client_id),
                )
            return
        self._waiting.discard(client_id)
        try:
            session = engine.open_session(
                client_id,
                self._local_event,
                meta={"peer": "local", "source": client_id},
                options=SessionOptions(task=self._tasks.get(client_id)),
            )
        except Exception as exc:
            log.error("could not open session %s: %s", client_id, exc)
            return
        self.session_opened.emit(client_id, True)  # queued before any of its events
        self._local = {**self._local, client_id: session}

    @Slot(str)
    def close_local(self, client_id: str) -> None:
        """Flush and close a local session (its final text still arrives)."""
        self._waiting.discard(client_id)
        session = self._local.get(client_id)
        if session is None:
            return
        self._local = {cid: s for cid, s in self._local.items() if cid != client_id}
        self._closing[client_id] = session
        try:
            session.end()
        except Exception as exc:
            log.debug("ending %s: %s", client_id, exc)

    @Slot(float)
    def shutdown(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Flush every session, stop the engine and the server; ``stopped`` follows."""
        t0 = time.monotonic()
        self._stopping = True
        self._poll.stop()
        self._waiting.clear()
        engine, server = self._engine, self._server
        if server is not None and hasattr(server, "set_draining"):
            try:
                server.set_draining(True)
            except Exception as exc:
                log.debug("draining: %s", exc)
        if engine is not None:
            try:
                engine.stop(flush=True, timeout=max(0.5, timeout - 1.5))
            except Exception as exc:
                log.warning("stopping the engine: %s", exc)
        self._stop_server(timeout=max(0.2, timeout - (time.monotonic() - t0)))
        self._local = {}
        self._closing.clear()
        self._engine = None
        log.info("engine host stopped in %.2f s", time.monotonic() - t0)
        self.state_changed.emit(HostState.STOPPED, "")
        self.stopped.emit()

    # -- any thread ----------------------------------------------------------------------------

    def feed(self, client_id: str, chunk: np.ndarray) -> None:
        """Push captured audio (capture threads); never blocks; dropped while no session is open."""
        session = self._local.get(client_id)
        if session is not None:
            try:
                session.push(chunk)
            except SessionClosedError:
                pass  # closed between the lookup and the push

    def post_event(self, event: Any) -> None:
        """A session's listener (engine threads): hands the event to the GUI thread."""
        self.event.emit(event)

    def _local_event(self, event: Any) -> None:
        self.event.emit(event)
        if isinstance(event, ClosedEvent):
            self._local_closed.emit(event.client_id)

    # -- internals (worker thread) -------------------------------------------------------------

    def _start_server(self, config: HostConfig) -> None:
        observed = ObservedEngine(
            self._engine, self.post_event, lambda cid, meta: self.session_opened.emit(cid, False)
        )
        try:
            server = self._server_factory(observed, config)
            server.start()
        except Exception as exc:
            log.error("the server did not start: %s", exc)
            self.server_changed.emit(ServerInfo(error=_one_line(exc)))
            return
        self._server = server
        self.server_changed.emit(
            ServerInfo(
                url=str(getattr(server, "url", "")),
                ws_url=str(getattr(server, "ws_url", "")),
                lan_url=str(getattr(server, "lan_url", "") or ""),
                token=str(getattr(server, "token", "") or ""),
                fingerprint=str(getattr(getattr(server, "tls", None), "fingerprint", "") or ""),
            )
        )

    def _stop_server(self, timeout: float = 2.0) -> None:
        server, self._server = self._server, None
        if server is not None:
            try:
                server.stop(timeout=timeout)
            except Exception as exc:
                log.warning("stopping the server: %s", exc)

    @Slot(str)
    def _on_local_closed(self, client_id: str) -> None:
        if self._closing.pop(client_id, None) is None and client_id in self._local:
            # closed by the engine (stopped or aborted), not by close_local
            self._local = {cid: s for cid, s in self._local.items() if cid != client_id}
        if client_id in self._waiting:
            self.open_local(client_id)

    def _stop_waiting(self, client_id: str) -> None:
        if client_id in self._waiting:
            log.warning("session %s did not close in %.0f s", client_id, CLOSE_WAIT_SECONDS)
            self._closing.pop(client_id, None)
            self.open_local(client_id)

    @Slot()
    def _poll_sessions(self) -> None:
        engine = self._engine
        if engine is None:
            return
        try:
            infos = list(engine.sessions())
        except Exception as exc:
            log.debug("sessions(): %s", exc)
            return
        self.clients.emit(infos)


class EngineHost(QObject):
    """The GUI thread's handle on the engine worker: owns its QThread, speaks Qt signals only."""

    state_changed = Signal(str, str)  # HostState, detail for people
    progress = Signal(str)  # model loading progress lines
    transcript = Signal(object)  # TranscriptEvent of any client
    utterance = Signal(object)  # UtteranceEvent (the final pass's text) of any client
    notice = Signal(object)  # NoticeEvent of any client
    session_opened = Signal(str, bool)  # client_id, is_local
    session_closed = Signal(str)
    clients_changed = Signal(list)  # [SessionInfo] every poll while running
    server_changed = Signal(object)  # ServerInfo
    reconfigured = Signal(str, str)  # model, language in use
    reconfigure_failed = Signal(str)
    stopped = Signal()

    # requests, queued to the worker's slots
    _start = Signal(object)
    _restart_server = Signal(object)
    _reconfigure = Signal(object, object)
    _open_local = Signal(str, str)
    _close_local = Signal(str)
    _shutdown = Signal(float)

    def __init__(
        self,
        engine_factory: EngineFactory = default_engine_factory,
        server_factory: ServerFactory = default_server_factory,
        poll_seconds: float = 1.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = HostState.IDLE
        self.server_info = ServerInfo()
        self.model = ""
        self.language = ""
        self.device = ""  # the engine's device and dtype, once it runs
        self.dtype = ""
        self._open_ids: set[str] = set()  # sessions announced and not yet closed
        self._stopping = False
        self.worker = EngineWorker(engine_factory, server_factory, poll_seconds)
        self._thread = QThread()
        self._thread.setObjectName("engine-host")
        self.worker.moveToThread(self._thread)

        w = self.worker
        self._start.connect(w.start)
        self._restart_server.connect(w.restart_server)
        self._reconfigure.connect(w.reconfigure)
        self._open_local.connect(w.open_local)
        self._close_local.connect(w.close_local)
        self._shutdown.connect(w.shutdown)
        w.state_changed.connect(self._on_state)
        w.progress.connect(self._on_progress)
        w.running.connect(self._on_running)
        w.placed.connect(self._on_placed)
        w.event.connect(self._on_event)
        w.session_opened.connect(self._on_opened)
        w.clients.connect(self._on_clients)
        w.server_changed.connect(self._on_server)
        w.reconfigured.connect(self._on_reconfigured)
        w.reconfigure_failed.connect(self._on_reconfigure_failed)
        w.stopped.connect(self._on_stopped)

    # -- requests ------------------------------------------------------------------------------

    def start(self, config: HostConfig) -> None:
        """Load the model and start the server on the worker's thread; returns at once."""
        self.model, self.language = config.model, config.language
        self._stopping = False
        if not self._thread.isRunning():
            self._thread.start()
        self._start.emit(config)

    def restart_server(self, config: HostConfig) -> None:
        """Apply new server settings; after a start in progress, in order."""
        self._restart_server.emit(config)

    def reconfigure(self, model: str | None, language: str | None) -> None:
        """Switch model and/or language live; sessions stay open."""
        self._reconfigure.emit(model, language)

    def open_local(self, client_id: str, task: str = "transcribe") -> None:
        """Open an in-process session; ``task`` transcribe or translate (into English)."""
        self._open_local.emit(client_id, task)

    def close_local(self, client_id: str) -> None:
        self._close_local.emit(client_id)

    def shutdown(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Flush every session and stop the engine and the server; ``stopped`` follows."""
        if self._stopping:
            return
        self._on_state(HostState.STOPPING, "stopping…")
        self._stopping = True  # later states of the worker but STOPPED are stale now
        if self._thread.isRunning():
            self._shutdown.emit(timeout)
        else:  # never started
            self._on_state(HostState.STOPPED, "")
            self.stopped.emit()

    def feed(self, client_id: str, chunk: np.ndarray) -> None:
        """Push captured audio; thread-safe, never blocks (see :meth:`EngineWorker.feed`)."""
        self.worker.feed(client_id, chunk)

    def feeder(self, client_id: str) -> Callable[[np.ndarray], None]:
        return functools.partial(self.worker.feed, client_id)

    def is_ready(self) -> bool:
        return self.state == HostState.READY

    # -- from the worker (GUI thread) ----------------------------------------------------------

    @Slot(str, str)
    def _on_state(self, state: str, detail: str) -> None:
        if self._stopping and state != HostState.STOPPED:
            return
        self.state = state
        self.state_changed.emit(state, detail)

    @Slot(str)
    def _on_progress(self, message: str) -> None:
        self.progress.emit(message)

    @Slot(str, str)
    def _on_running(self, model: str, language: str) -> None:
        self.model, self.language = model, language

    @Slot(str, str)
    def _on_placed(self, device: str, dtype: str) -> None:
        self.device, self.dtype = device, dtype

    @Slot(object)
    def _on_event(self, event: Any) -> None:
        if isinstance(event, TranscriptEvent):
            self.transcript.emit(event)
        elif isinstance(event, UtteranceEvent):
            self.utterance.emit(event)
        elif isinstance(event, NoticeEvent):
            self.notice.emit(event)
        elif isinstance(event, ClosedEvent) and event.client_id in self._open_ids:
            self._open_ids.discard(event.client_id)
            self.session_closed.emit(event.client_id)

    @Slot(str, bool)
    def _on_opened(self, client_id: str, local: bool) -> None:
        self._open_ids.add(client_id)
        self.session_opened.emit(client_id, local)

    @Slot(list)
    def _on_clients(self, infos: list) -> None:
        self.clients_changed.emit(infos)

    @Slot(object)
    def _on_server(self, info: ServerInfo) -> None:
        self.server_info = info
        self.server_changed.emit(info)

    @Slot(str, str)
    def _on_reconfigured(self, model: str, language: str) -> None:
        self.model, self.language = model, language
        self.reconfigured.emit(model, language)

    @Slot(str)
    def _on_reconfigure_failed(self, message: str) -> None:
        self.reconfigure_failed.emit(message)

    @Slot()
    def _on_stopped(self) -> None:
        self._thread.quit()
        self._thread.wait(2000)
        self.stopped.emit()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
