"""Runs the Engine and the local WebSocket server next to the Qt loop.

Everything slow or blocking (loading a model, switching it, binding the server, flushing at quit)
happens on background threads. Results, engine events and errors reach Qt only as signals, which
Qt queues to the GUI thread.

Remote clients' events are observed by handing the server an :class:`ObservedEngine`: it forwards
everything to the real engine and tees each session's events to the host as well.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

LOCAL_CLIENTS = ("user", "system")
SHUTDOWN_SECONDS = 4.5  # quit must be done within 5 s


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
    server_enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9000
    token: str | None = None
    max_clients: int = 8


@dataclass(frozen=True)
class ServerInfo:
    url: str = ""
    ws_url: str = ""
    lan_url: str = ""
    token: str = ""
    error: str = ""

    @property
    def running(self) -> bool:
        return bool(self.ws_url)


def default_engine_factory(config: HostConfig, progress: Callable[[str], None]) -> Any:
    from server_core.config import DecodeOptions, EngineConfig
    from server_core.engine import Engine

    return Engine(
        EngineConfig(model=config.model, decode=DecodeOptions(language=config.language)),
        progress=progress,
    )


def default_server_factory(engine: Any, config: HostConfig) -> Any:
    from server_core.net.server import LocalServer, ServerOptions

    return LocalServer(
        engine,
        ServerOptions(
            host=config.host,
            port=config.port,
            token=config.token or None,
            max_clients=config.max_clients,
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


class EngineHost(QObject):
    """Owns the engine, the server and the two local sessions; speaks Qt signals only."""

    state_changed = Signal(str, str)  # HostState, detail for people
    progress = Signal(str)  # model loading progress lines
    transcript = Signal(object)  # TranscriptEvent of any client
    notice = Signal(object)  # NoticeEvent of any client
    session_opened = Signal(str, bool)  # client_id, is_local
    session_closed = Signal(str)
    clients_changed = Signal(list)  # [SessionInfo-like] every second while running
    server_changed = Signal(object)  # ServerInfo
    reconfigured = Signal(str, str)  # model, language in use
    reconfigure_failed = Signal(str)
    stopped = Signal()

    _event = Signal(object)  # from engine threads
    _opened = Signal(str, bool)
    _clients = Signal(list)

    def __init__(
        self,
        engine_factory: Callable[[HostConfig, Callable[[str], None]], Any] = default_engine_factory,
        server_factory: Callable[[Any, HostConfig], Any] = default_server_factory,
        poll_seconds: float = 1.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine_factory = engine_factory
        self._server_factory = server_factory
        self._poll_seconds = poll_seconds
        self._engine: Any = None
        self._server: Any = None
        self._config: HostConfig | None = None
        self._local: dict[str, Any] = {}
        self._closing: dict[str, Any] = {}
        self._local_lock = threading.Lock()
        self._open_ids: dict[str, float] = {}  # client_id -> when it opened (monotonic)
        self._stop = threading.Event()
        self._busy = threading.Lock()  # one start/reconfigure/server change at a time
        self.state = HostState.IDLE
        self.server_info = ServerInfo()
        self.model = ""
        self.language = ""
        self._event.connect(self._dispatch)
        self._opened.connect(self._on_opened)
        self._clients.connect(self._on_clients)
        self.state_changed.connect(self._remember_state)

    # -- life cycle ----------------------------------------------------------------------------

    def start(self, config: HostConfig) -> None:
        """Load the model and start the server in the background; returns at once."""
        self._config = config
        self.model, self.language = config.model, config.language
        self._stop.clear()
        self.state_changed.emit(HostState.LOADING, f"loading model {config.model}…")
        threading.Thread(
            target=self._start_thread, args=(config,), name="engine-host", daemon=True
        ).start()

    def _start_thread(self, config: HostConfig) -> None:
        with self._busy:
            try:
                engine = self._engine_factory(config, self.progress.emit)
                engine.start()
            except Exception as exc:
                log.error("the engine did not start: %s", exc)
                self.state_changed.emit(HostState.ERROR, _one_line(exc))
                return
            self._engine = engine
            self.model = str(getattr(engine, "model_name", config.model))
            self.language = str(getattr(engine, "language", config.language))
            latest = self._config or config  # server settings may have changed meanwhile
            if latest.server_enabled:
                self._start_server(latest)
            if self._stop.is_set():
                return
            self.state_changed.emit(HostState.READY, f"{self.model} ready")
        threading.Thread(target=self._poll, name="engine-host-poll", daemon=True).start()

    def _start_server(self, config: HostConfig) -> None:
        observed = ObservedEngine(
            self._engine, self._post_event, lambda cid, meta: self._opened.emit(cid, False)
        )
        try:
            server = self._server_factory(observed, config)
            server.start()
        except Exception as exc:
            log.error("the server did not start: %s", exc)
            self.server_info = ServerInfo(error=_one_line(exc))
            self.server_changed.emit(self.server_info)
            return
        self._server = server
        self.server_info = ServerInfo(
            url=str(getattr(server, "url", "")),
            ws_url=str(getattr(server, "ws_url", "")),
            lan_url=str(getattr(server, "lan_url", "") or ""),
            token=str(getattr(server, "token", "") or ""),
        )
        self.server_changed.emit(self.server_info)

    def _stop_server(self, timeout: float = 2.0) -> None:
        server, self._server = self._server, None
        if server is not None:
            try:
                server.stop(timeout=timeout)
            except Exception as exc:
                log.warning("stopping the server: %s", exc)
        self.server_info = ServerInfo()

    def restart_server(self, config: HostConfig) -> None:
        """Apply new server settings (host, port, LAN, token, on/off) in the background."""

        def work() -> None:
            with self._busy:
                self._config = config
                self._stop_server()
                if config.server_enabled and self._engine is not None:
                    self._start_server(config)
                else:
                    self.server_changed.emit(self.server_info)

        threading.Thread(target=work, name="server-restart", daemon=True).start()

    def reconfigure(self, model: str | None, language: str | None) -> None:
        """Switch model and/or language live, in the background; sessions stay open."""

        def work() -> None:
            with self._busy:
                engine = self._engine
                if engine is None:
                    return
                if model:
                    self.state_changed.emit(HostState.LOADING, f"switching to {model}…")
                try:
                    engine.reconfigure(model=model, language=language)
                except Exception as exc:
                    log.error("reconfigure failed: %s", exc)
                    self.reconfigure_failed.emit(_one_line(exc))
                    self.state_changed.emit(HostState.READY, f"{self.model} ready")
                    return
                self.model = str(getattr(engine, "model_name", model or self.model))
                self.language = str(getattr(engine, "language", language or self.language))
                self.reconfigured.emit(self.model, self.language)
                self.state_changed.emit(HostState.READY, f"{self.model} ready")

        threading.Thread(target=work, name="engine-reconfigure", daemon=True).start()

    def shutdown(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Flush every session and stop the engine and the server; ``stopped`` follows."""
        self._stop.set()
        self.state_changed.emit(HostState.STOPPING, "stopping…")

        def work() -> None:
            t0 = time.monotonic()
            engine, server = self._engine, self._server
            if server is not None and hasattr(server, "set_draining"):
                try:
                    server.set_draining(True)
                except Exception as exc:
                    log.debug("draining: %s", exc)
            if engine is not None:
                try:
                    engine.stop(flush=True, timeout=max(0.5, timeout - 1.5))
                except TypeError:  # an engine without the timeout argument
                    engine.stop(flush=True)
                except Exception as exc:
                    log.warning("stopping the engine: %s", exc)
            left = timeout - (time.monotonic() - t0)
            self._stop_server(timeout=max(0.2, left))
            with self._local_lock:
                self._local.clear()
            self._engine = None
            log.info("engine host stopped in %.2f s", time.monotonic() - t0)
            self.state_changed.emit(HostState.STOPPED, "")
            self.stopped.emit()

        threading.Thread(target=work, name="engine-shutdown", daemon=True).start()

    # -- local sessions ------------------------------------------------------------------------

    def open_local(self, client_id: str) -> None:
        """Open the in-process session ``client_id`` (``user``/``system``) in the background.

        A previous session of the same id that is still flushing is waited for first.
        """
        if self._engine is None or self._stop.is_set():
            return

        def work() -> None:
            with self._local_lock:
                if client_id in self._local:
                    return
                previous = self._closing.pop(client_id, None)
            if previous is not None:
                previous.wait_closed(5.0)
            engine = self._engine
            if engine is None or self._stop.is_set():
                return
            try:
                session = engine.open_session(
                    client_id, self._post_event, meta={"peer": "local", "source": client_id}
                )
            except Exception as exc:
                log.error("could not open session %s: %s", client_id, exc)
                return
            with self._local_lock:
                self._local[client_id] = session
            self._opened.emit(client_id, True)

        threading.Thread(target=work, name=f"open-{client_id}", daemon=True).start()

    def close_local(self, client_id: str) -> None:
        """Flush and close a local session (its final text still arrives)."""
        with self._local_lock:
            session = self._local.pop(client_id, None)
            if session is not None:
                self._closing[client_id] = session
        if session is not None:
            try:
                session.end()
            except Exception as exc:
                log.debug("ending %s: %s", client_id, exc)

    def feed(self, client_id: str, chunk: np.ndarray) -> None:
        """Push captured audio; thread-safe, never blocks, drops audio while no session is open."""
        session = self._local.get(client_id)
        if session is not None:
            session.push(chunk)

    def feeder(self, client_id: str) -> Callable[[np.ndarray], None]:
        return lambda chunk: self.feed(client_id, chunk)

    def is_ready(self) -> bool:
        return self.state == HostState.READY and self._engine is not None

    def _post_event(self, event: Any) -> None:
        """The sessions' listener: runs on engine threads, hands the event to the GUI thread."""
        self._event.emit(event)

    # -- events (GUI thread) -------------------------------------------------------------------

    @Slot(str, str)
    def _remember_state(self, state: str, detail: str) -> None:
        self.state = state

    @Slot(str, bool)
    def _on_opened(self, client_id: str, local: bool) -> None:
        self._open_ids[client_id] = time.monotonic()
        self.session_opened.emit(client_id, local)

    @Slot(object)
    def _dispatch(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "TranscriptEvent":
            self.transcript.emit(event)
        elif kind == "NoticeEvent":
            self.notice.emit(event)
        elif kind == "ClosedEvent":
            if self._open_ids.pop(event.client_id, None) is not None:
                self.session_closed.emit(event.client_id)

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            engine = self._engine
            if engine is None:
                continue
            try:
                infos = list(engine.sessions())
            except Exception as exc:
                log.debug("sessions(): %s", exc)
                continue
            self._clients.emit(infos)

    @Slot(list)
    def _on_clients(self, infos: list) -> None:
        alive = {getattr(i, "client_id", "") for i in infos}
        settled = time.monotonic() - 2 * self._poll_seconds
        for cid, opened in sorted(self._open_ids.items()):
            if cid not in alive and opened < settled:  # aborted sessions send no ClosedEvent
                del self._open_ids[cid]
                self.session_closed.emit(cid)
        self.clients_changed.emit(infos)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
