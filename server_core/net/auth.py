"""Who may connect: loopback peers freely (unless another site's page sends them), everyone
else with the token."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Optional
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection


def is_loopback(host: Optional[str]) -> bool:
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def _cross_origin(conn: HTTPConnection) -> bool:
    """True for a browser request from another site (its Origin differs from our Host)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return False
    host = conn.headers.get("host", "")
    return urlsplit(origin).netloc.lower() != host.lower()


def check_access(
    conn: HTTPConnection, token: Optional[str], require_token: bool = False
) -> Optional[str]:
    """None if the peer may proceed, else the reason it may not.

    Loopback peers need no token, unless they are another site's page in a local browser or
    ``require_token`` is set (behind a reverse proxy on this machine every peer is loopback);
    everyone else must present the token (``?token=`` or ``Authorization: Bearer``).
    """
    peer = conn.client.host if conn.client else None
    if not require_token and is_loopback(peer) and not _cross_origin(conn):
        return None
    supplied = conn.query_params.get("token")
    auth = conn.headers.get("authorization", "")
    if not supplied and auth.lower().startswith("bearer "):
        supplied = auth[7:].strip()
    if token is None:
        return "this server accepts local clients only (start it with --token to allow others)"
    if not supplied:
        return "a token is required for non-local clients (add ?token=...)"
    if not hmac.compare_digest(supplied.encode(), token.encode()):
        return "wrong token"
    return None
