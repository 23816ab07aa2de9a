"""End-to-end helpers: the real server as a subprocess, and protocol-level test clients."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from server_core.audio.wire import FrameFormat, encode_frame
from server_core.config import SAMPLE_RATE
from tests.support import ROOT

LISTEN_RE = re.compile(r"Listening on (wss?://\S+)")
TLS_RE = re.compile(r"TLS: .*certificate (\S+), SHA-256 fingerprint ([0-9A-F:]+)")


class ServerProcess:
    """`python -m whisper_desktop --server-only ...` (or another ``mode``, e.g. ``("cluster",)``)
    with stdout+stderr collected in a thread."""

    def __init__(
        self,
        *args: str,
        python_flags: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        prefix: tuple[str, ...] = (),
        mode: tuple[str, ...] = ("--server-only",),
        program: str | None = None,
    ) -> None:
        """``program``: an installed ``whisper-desktop`` to run instead of this checkout's."""
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        if program is None:
            full_env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p
            )
            cmd = [*prefix, sys.executable, *python_flags, "-m", "whisper_desktop", *mode]
        else:
            full_env.pop("PYTHONPATH", None)
            cmd = [*prefix, program, *mode]
        self.proc = subprocess.Popen(
            [*cmd, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=str(cwd or ROOT),
        )
        self.pid = self.proc.pid
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for t in self._readers:
            t.start()
        self.ws_url = ""
        self.http_url = ""
        self.port = 0
        self.certfile: Path | None = None  # what it serves, when it speaks TLS
        self.fingerprint = ""

    @staticmethod
    def _read(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_listening(self, timeout: float = 180.0) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stdout):
                m = LISTEN_RE.search(line)
                if m:
                    self.ws_url = m.group(1)
                    host_port = self.ws_url.split("//", 1)[1].split("/", 1)[0]
                    self.port = int(host_port.rsplit(":", 1)[1])
                    scheme = "https" if self.ws_url.startswith("wss:") else "http"
                    self.http_url = f"{scheme}://{host_port}"
                    self._read_tls()
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"server did not come up:\n{self.output()}")

    def _read_tls(self) -> None:
        for line in self.stdout:
            m = TLS_RE.search(line)
            if m:
                self.certfile, self.fingerprint = Path(m.group(1)), m.group(2)

    def ssl_context(self):
        """A client context that trusts exactly the certificate this server printed."""
        import ssl

        return ssl.create_default_context(cafile=str(self.certfile)) if self.certfile else None

    def output(self) -> str:
        return "\n".join(self.stdout) + "\n--- stderr ---\n" + "\n".join(self.stderr[-80:])

    def get(self, path: str, timeout: float = 10.0) -> dict:
        ctx = self.ssl_context()
        with urllib.request.urlopen(self.http_url + path, timeout=timeout, context=ctx) as r:
            return json.load(r)

    def clients(self) -> list[dict]:
        return self.get("/clients")["clients"]

    def wait_no_clients(self, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            left = self.clients()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for t in self._readers:
            t.join(5)
        return self.proc.returncode


# --------------------------------------------------------------------------- protocol clients


@dataclass
class StreamResult:
    client_id: str
    messages: list[dict] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    @property
    def transcripts(self) -> list[dict]:
        return [m for m in self.messages if m.get("type") == "transcript"]

    @property
    def text(self) -> str:
        return "".join(m["text"] for m in self.transcripts).strip()

    @property
    def types(self) -> list[str]:
        return [m.get("type", "?") for m in self.messages]


def endpoint(base_ws: str, client_id: str, **params: str) -> str:
    from urllib.parse import urlencode

    return f"{base_ws}?{urlencode({'client_id': client_id, **params})}"


async def stream_audio(
    url: str,
    client_id: str,
    audio: np.ndarray,
    *,
    fmt: FrameFormat = FrameFormat.NPY,
    speed: float = 1.0,
    frame_seconds: float = 0.1,
    send_end: bool = True,
    tail_seconds: float = 0.0,
    timeout: float = 180.0,
) -> StreamResult:
    """Stream ``audio`` paced at ``speed`` x real time, then ``end``; collect until the close."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    result = StreamResult(client_id)
    frame = int(frame_seconds * SAMPLE_RATE)
    async with connect(url, max_size=None) as ws:

        async def send() -> None:
            t0 = time.monotonic()
            for i in range(0, audio.shape[0], frame):
                delay = t0 + i / SAMPLE_RATE / speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(encode_frame(audio[i : i + frame], fmt))
            if tail_seconds:
                await asyncio.sleep(tail_seconds)
            if send_end:
                await ws.send(json.dumps({"type": "end"}))

        async def receive() -> None:
            try:
                async for raw in ws:
                    result.messages.append(json.loads(raw))
            except ConnectionClosed:
                pass
            if ws.close_code is not None:
                result.close_code, result.close_reason = ws.close_code, ws.close_reason or ""

        sender = asyncio.create_task(send())
        try:
            await asyncio.wait_for(receive(), timeout)
        finally:
            sender.cancel()
        result.close_code, result.close_reason = ws.close_code, ws.close_reason or ""
    return result


def run(coro):
    return asyncio.run(coro)


class AppServer:
    """An app (``create_app(...)``) served by uvicorn on a free loopback port, in a thread of
    this process: for tests that need the repository's own web page and engine object."""

    def __init__(self, app) -> None:
        import socket

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.http_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/transcription"
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
