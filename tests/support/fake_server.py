"""A stand-in for ``server_core.net.server.LocalServer`` in the desktop tests: it keeps the
engine it was given (the host's ObservedEngine) and the config, and listens nowhere. Like the
real one, off loopback it speaks TLS (``tls.fingerprint``) unless the config turns TLS off."""

from __future__ import annotations

from types import SimpleNamespace

FINGERPRINT = ":".join(["5A"] * 32)


class FakeServer:
    started: list = []  # every server started, in order (tests reset it)

    def __init__(self, engine, config) -> None:
        self.engine, self.config = engine, config
        self.url = f"http://127.0.0.1:{config.port}/"
        self.ws_url = f"ws://127.0.0.1:{config.port}/ws/transcription"
        lan = config.host != "127.0.0.1"
        tls = lan and getattr(config, "tls_enabled", True)
        self.tls = SimpleNamespace(fingerprint=FINGERPRINT) if tls else None
        scheme = "https" if tls else "http"
        self.lan_url = f"{scheme}://192.0.2.7:{config.port}/?token={config.token}" if lan else None
        self.token = config.token
        self.stopped = False

    def start(self) -> None:
        FakeServer.started.append(self)

    def stop(self, timeout: float = 1.0) -> None:
        self.stopped = True
