"""`LocalServer`: the API app under uvicorn, in a background thread.

Used by the desktop app (next to its Qt loop) and by `whisper-desktop --server-only` alike::

    server = LocalServer(engine, ServerOptions(host="0.0.0.0", port=9000))
    server.start()          # binds, serves; raises ServerError (port in use, ...)
    server.url, server.ws_url, server.lan_url, server.token, server.tls
    server.stop()

Off loopback it serves HTTPS and WSS (``net/tls.py``: the user's certificate, or a self-signed
one made once); ``ServerOptions(tls=TlsOptions(enabled=False))`` keeps it plain.

The engine's life is the caller's: start it before clients come, and stop it (flushing) before
``stop()`` for a graceful end.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import uvicorn

from server_core.audio.wire import DEFAULT_LIMITS, FrameLimits
from server_core.contract import EngineHandle
from server_core.net.app import create_app
from server_core.net.auth import is_loopback
from server_core.net.options import ApiOptions
from server_core.net.protocol import WS_PATH
from server_core.net.tls import TlsError, TlsFiles, TlsOptions, resolve_tls, server_context

log = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """The server could not start; str() is one line for people."""


LOOPBACK_PROXIES = ("127.0.0.1", "::1")  # whose X-Forwarded-For names the real client


@dataclass
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 9000  # 0 picks a free port
    token: Optional[str] = None  # generated when binding off loopback without one
    max_clients: int = 8
    idle_timeout: float = 60.0
    flush_timeout: float = 120.0
    limits: FrameLimits = field(default_factory=lambda: DEFAULT_LIMITS)
    # Frames above this are refused by the WebSocket layer itself (close 1009) without being
    # buffered whole; between the audio limit and this, the client gets an error and stays.
    ws_max_size: int = 1024 * 1024
    ws_ping_interval: float = 20.0
    graceful_timeout: float = 5.0
    require_token: bool = False  # every peer needs the token, loopback too (local proxy)
    allowed_hosts: tuple[str, ...] = ()  # extra Host names (DNS rebinding guard, net/hosts.py)
    resume_grace: float = 30.0  # seconds a dropped client's session waits for it (0 = off)
    tls: TlsOptions = field(default_factory=TlsOptions)

    def api_options(self) -> ApiOptions:
        return ApiOptions(
            token=self.token,
            max_clients=self.max_clients,
            idle_timeout=self.idle_timeout,
            flush_timeout=self.flush_timeout,
            limits=self.limits,
            allowed_hosts=self.allowed_hosts,
            require_token=self.require_token,
            resume_grace=self.resume_grace,
        )


# Frames read ahead of the handler; small, so that a connection held back (Connection
# ._hold_back) stops reading from the socket instead of buffering up to 32 frames of 10 s
WS_MAX_QUEUE = 4


def _is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::")


def lan_address() -> Optional[str]:
    """This machine's address on its default route, without sending anything."""
    for target in ("192.0.2.1", "10.255.255.255"):
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((target, 9))
            addr = s.getsockname()[0]
            if addr and not addr.startswith("127.") and addr != "0.0.0.0":
                return addr
    with contextlib.suppress(OSError):
        addr = socket.gethostbyname(socket.gethostname())
        if not addr.startswith("127."):
            return addr
    return None


def _url_host(host: str) -> str:
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]"
    except ValueError:
        pass
    return host


class LocalServer:
    def __init__(self, engine: EngineHandle, options: Optional[ServerOptions] = None) -> None:
        self.engine = engine
        self.options = options or ServerOptions()
        self.generated_token = False
        needs_token = self.options.require_token or not self._loopback_only()
        if self.options.token is None and needs_token:
            self.options.token = secrets.token_urlsafe(16)
            self.generated_token = True
        self.app = create_app(engine, self.options.api_options())
        self._sock: Optional[socket.socket] = None
        self._server: Optional[uvicorn.Server] = None
        self._thread: Optional[threading.Thread] = None
        self.port = self.options.port
        self.tls: Optional[TlsFiles] = None  # known after bind(); None: plain http/ws

    # -- addresses
    @property
    def loopback_only(self) -> bool:
        return self._loopback_only()

    def _loopback_only(self) -> bool:
        host = self.options.host
        return host == "localhost" or is_loopback(host)

    @property
    def token(self) -> Optional[str]:
        return self.options.token

    @property
    def _local_host(self) -> str:
        host = self.options.host
        if _is_wildcard(host):
            return "127.0.0.1" if host != "::" else "::1"
        return host

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        """The browser page, for this machine."""
        return f"{self.scheme}://{_url_host(self._local_host)}:{self.port}/"

    @property
    def ws_url(self) -> str:
        ws = "wss" if self.tls else "ws"
        return f"{ws}://{_url_host(self._local_host)}:{self.port}{WS_PATH}"

    @property
    def lan_url(self) -> Optional[str]:
        """The browser page for other machines, token included; None on a loopback bind."""
        if self._loopback_only():
            return None
        host = lan_address() if _is_wildcard(self.options.host) else self.options.host
        if host is None:
            return None
        return f"{self.scheme}://{_url_host(host)}:{self.port}/?token={self.token}"

    # -- life cycle
    def bind(self) -> None:
        """Bind the listening socket and settle TLS now (idempotent); raises ServerError."""
        if self._sock is not None:
            return
        host, port = self.options.host, self.options.port
        try:
            self.tls = resolve_tls(
                self.options.tls, host, self._loopback_only(), self.options.allowed_hosts
            )
        except TlsError as e:
            raise ServerError(str(e)) from None
        if self.tls is None and not self._loopback_only():
            log.warning(
                "serving plain http/ws on %s: browsers on other devices get no microphone "
                "and the token travels in clear text",
                host,
            )
        try:
            infos = socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as e:
            raise ServerError(f"cannot resolve host {host!r}: {e}") from None
        family, _, _, _, addr = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as e:
            sock.close()
            raise ServerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        sock.set_inheritable(True)
        self._sock = sock
        self.port = sock.getsockname()[1]

    def start(self, timeout: float = 15.0) -> None:
        """Serve in a background thread; returns once the server accepts connections."""
        if self._thread is not None:
            return
        self.bind()
        config = uvicorn.Config(
            self.app,
            ws_max_size=self.options.ws_max_size,
            ws_ping_interval=self.options.ws_ping_interval,
            ws_ping_timeout=self.options.ws_ping_interval,
            ws_max_queue=WS_MAX_QUEUE,
            timeout_graceful_shutdown=self.options.graceful_timeout,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            # a reverse proxy on this machine that names the client in X-Forwarded-For keeps
            # remote clients remote (they need the token); nobody else's header is believed
            proxy_headers=True,
            # the same event loop and HTTP parser whether or not uvloop/httptools happen to be
            # installed (Ray's extra brings them): the server is tested on these
            loop="asyncio",
            http="h11",
            forwarded_allow_ips=list(LOOPBACK_PROXIES),
        )
        config.load()
        if self.tls is not None:
            try:
                config.ssl = server_context(self.tls)
            except TlsError as e:
                self.close()
                raise ServerError(str(e)) from None
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"the server on port {self.port} did not start")
            time.sleep(0.02)
        log.info("serving on %s", self.ws_url)

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            self._server.run(sockets=[self._sock])
        except BaseException:  # SystemExit from uvicorn's startup failure included
            log.exception("the server thread failed")

    @property
    def hub(self):
        return self.app.state.hub

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_draining(self, draining: bool = True) -> None:
        """Refuse new clients (close 1001) while existing ones finish."""
        self.hub.draining = draining

    def client_count(self) -> int:
        return len(self.hub.connections)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no WebSocket client is connected; True if that happened in time."""
        deadline = time.monotonic() + timeout
        while self.client_count():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and stop serving (idempotent). Sessions still open are
        aborted by their connections; flush through the engine first for a graceful end."""
        if self._server is not None:
            self.hub.draining = True  # connections closing now park nothing for a resume
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the server thread did not stop within %.0f s", timeout)
        if self._server is not None:
            self.hub.drop_all()
        self._thread = None
        self._server = None
        self.close()

    def close(self) -> None:
        """Release the listening socket of a server that was bound but not started."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
