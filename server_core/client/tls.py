"""How the example client trusts a ``wss://`` server: a CA file, or a pinned fingerprint.

With ``--cafile`` the certificate is verified as usual (chain and host name) against that file,
e.g. the server's own self-signed certificate. With ``--fingerprint`` the TLS layer verifies
nothing, but before a single byte of the WebSocket handshake (which carries the token) is sent,
the SHA-256 of the certificate the server presented is compared with the pin; a mismatch ends
the attempt with ``PinMismatch``. There is no way to turn verification off without a pin.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from dataclasses import dataclass
from typing import Any, Optional

from websockets.asyncio.client import ClientConnection

_HEX = re.compile(r"[0-9a-f]{64}")


class PinMismatch(Exception):
    """The server's certificate is not the pinned one; str() is one line for people."""


@dataclass(frozen=True)
class ClientTls:
    cafile: Optional[str] = None  # trust this CA/certificate (PEM) instead of the system's
    fingerprint: Optional[str] = None  # normalised pin, "AB:CD:..." (see parse_fingerprint)


def parse_fingerprint(text: str) -> str:
    """``AB:CD:..``, ``abcd..`` or ``SHA256:..``/``sha256=..`` as ``AB:CD:..``; ValueError else."""
    raw = text.strip()
    raw = re.sub(r"^sha-?256[:=]", "", raw, flags=re.IGNORECASE)
    digits = re.sub(r"[\s:]", "", raw).lower()
    if not _HEX.fullmatch(digits):
        raise ValueError(f"{text!r} is not a SHA-256 fingerprint (64 hex digits, ':' allowed)")
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()


def fingerprint_of(der: bytes) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def ssl_context(tls: ClientTls) -> ssl.SSLContext:
    """The context for a wss:// connection with these settings."""
    if tls.fingerprint:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the pin, checked before anything is sent, decides
        return ctx
    return ssl.create_default_context(cafile=tls.cafile)


def connection_factory(pin: Optional[str]) -> Optional[type[ClientConnection]]:
    """A ClientConnection class that checks ``pin`` before its opening handshake."""
    if not pin:
        return None

    class PinnedConnection(ClientConnection):
        async def handshake(self, *args: Any, **kwargs: Any) -> None:
            ssl_object = self.transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            if der is None:
                raise PinMismatch("the server presented no certificate to check the pin against")
            got = fingerprint_of(der)
            if got != pin:
                raise PinMismatch(
                    f"the server's certificate has SHA-256 fingerprint {got}, not the pinned "
                    f"{pin}: refusing to send anything"
                )
            await super().handshake(*args, **kwargs)

    return PinnedConnection


def connect_kwargs(url: str, tls: ClientTls) -> dict[str, Any]:
    """Extra ``websockets.connect`` arguments for ``url`` (none for ws://)."""
    if not url.startswith("wss://"):
        if tls.cafile or tls.fingerprint:
            raise ValueError("--cafile and --fingerprint need a wss:// (or https://) server URL")
        return {}
    kwargs: dict[str, Any] = {"ssl": ssl_context(tls)}
    factory = connection_factory(tls.fingerprint)
    if factory is not None:
        kwargs["create_connection"] = factory
    return kwargs
