"""The ``Host`` header allow-list, against DNS rebinding.

A web page can point its own host name at 127.0.0.1; its requests then look same-origin and
come from a loopback peer. They still carry that foreign name in ``Host``, so every HTTP and
WebSocket request must name this machine: an IP address (which cannot be rebound),
``localhost``, this machine's own names, or a name given with ``--allowed-host``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.websockets import WebSocketClose

from server_core.net.protocol import CLOSE_POLICY

log = logging.getLogger(__name__)

ANY_HOST = "*"


def host_name(header: str) -> str:
    """The name or address of a ``Host`` header, without port, brackets or trailing dot."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:9000
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


def machine_names() -> set[str]:
    names = {"localhost"}
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            name = name.lower().rstrip(".")
            names |= {name, f"{name.split('.', 1)[0]}.local"}
    return names


class HostAllowList:
    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = {host_name(h) for h in extra if h.strip()}
        self.names = machine_names() | self.extra

    def allows(self, header: str | None) -> bool:
        if header is None or ANY_HOST in self.extra:
            return True  # no browser sends a request without Host
        name = host_name(header)
        return _is_address(name) or name in self.names or name.endswith(".localhost")


class HostCheck:
    """ASGI middleware: requests naming another host get 403 (HTTP) or a refused handshake."""

    def __init__(self, app, allowed: HostAllowList) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"host")
        header = raw.decode("latin-1") if raw is not None else None
        if self.allowed.allows(header):
            return await self.app(scope, receive, send)
        log.warning("refused a request for host %r (not this machine's name)", header)
        message = (
            f"host {header!r} is not this server's name; start the server with "
            f"--allowed-host {host_name(header or '')} to allow it"
        )
        if scope["type"] == "websocket":
            refusal = WebSocketClose(CLOSE_POLICY, "host not allowed")
        else:
            content = {"error": "host_not_allowed", "message": message}
            refusal = JSONResponse(content, status_code=403)
        await refusal(scope, receive, send)
