"""One client id streaming one feed over one connection at a time; reconnects with backoff.

A reconnect resumes the session (the ``resume_token`` of "ready", and ``last_seq``, the number
of the last event received): the server says how much audio it has, the audio after that is
sent again from a short buffer, and the events after ``last_seq`` come again. Nothing is lost
to a dropped connection within the server's grace period, and nothing is shown twice. When the
session is gone (its grace ran out, or the cluster replica that held it died), the new session
first gets the audio after the last text received: the untranscribed part is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections import deque
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from server_core.audio.wire import FrameFormat, encode_frame
from server_core.client.feeds import Feed, warn
from server_core.client.printer import Printer
from server_core.client.tls import ClientTls, PinMismatch, connect_kwargs
from server_core.config import SAMPLE_RATE
from server_core.net.protocol import FATAL_CLOSE_CODES, WS_PATH, end_message

MAX_BACKOFF = 10.0
RESEND_SECONDS = 60.0  # audio kept to send again after a reconnect


def ws_url(
    server: str,
    client_id: str,
    fmt: FrameFormat = FrameFormat.NPY,
    token: Optional[str] = None,
    language: Optional[str] = None,
) -> str:
    """The endpoint URL from ``ws://h:p``, ``http://h:p/``, ``h:p`` or a full endpoint URL."""
    if "://" not in server:
        server = "ws://" + server
    parts = urlsplit(server)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"unsupported server URL {server!r}; use ws://HOST:PORT or wss://")
    if not parts.hostname:
        raise ValueError(f"no host in server URL {server!r}")
    path = parts.path if parts.path not in ("", "/") else WS_PATH
    query = dict(item.split("=", 1) for item in parts.query.split("&") if "=" in item)
    query["client_id"] = client_id
    if fmt is not FrameFormat.NPY:
        query["format"] = fmt.value
    if token:
        query["token"] = token
    if language:
        query["language"] = language
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


@dataclass
class StreamOptions:
    server: str
    client_id: str
    format: FrameFormat = FrameFormat.NPY
    token: Optional[str] = None
    language: Optional[str] = None
    end_timeout: float = 120.0  # seconds to wait for "done" after "end"
    max_attempts: Optional[int] = None  # connection attempts in a row; None = forever
    tls: ClientTls = field(default_factory=ClientTls)  # for wss://: --cafile or --fingerprint


class Fatal(Exception):
    """The server refused us for a reason that retrying will not fix."""


class SentAudio:
    """The audio sent in this session, the last ``RESEND_SECONDS`` of it kept."""

    def __init__(self, keep_seconds: float = RESEND_SECONDS) -> None:
        self.keep = int(keep_seconds * SAMPLE_RATE)
        self.total = 0  # samples sent in this session
        self._chunks: deque[tuple[int, np.ndarray]] = deque()  # (offset, chunk)
        self._kept = 0

    def add(self, chunk: np.ndarray) -> None:
        self._chunks.append((self.total, chunk))
        self.total += chunk.shape[0]
        self._kept += chunk.shape[0]
        while self._kept - self._chunks[0][1].shape[0] >= self.keep:
            self._kept -= self._chunks.popleft()[1].shape[0]

    def after(self, received: int) -> tuple[list[np.ndarray], float]:
        """The chunks from sample ``received`` on, and the seconds before it no longer kept."""
        out = []
        for offset, chunk in self._chunks:
            end = offset + chunk.shape[0]
            if end > received:
                out.append(chunk[max(0, received - offset) :])
        first = self._chunks[0][0] if self._chunks else self.total
        return out, max(0, first - received) / SAMPLE_RATE

    def reset(self) -> None:
        self.total, self._kept = 0, 0
        self._chunks.clear()


class Stream:
    """One client id, one connection at a time, one audio source; reconnects with backoff."""

    def __init__(
        self, opts: StreamOptions, source: Feed, printer: Printer, stop: asyncio.Event
    ) -> None:
        self.opts, self.source, self.printer, self.stop = opts, source, printer, stop
        self.url = ws_url(opts.server, opts.client_id, opts.format, opts.token, opts.language)
        self.tls_kwargs = connect_kwargs(self.url, opts.tls)
        self.resume_token: Optional[str] = None
        self.last_seq = 0
        self.sent = SentAudio()
        self.committed = 0  # samples of this session up to the end of the last text received
        self._resend: list[np.ndarray] = []

    def _url(self) -> str:
        if not self.resume_token:
            return self.url
        query = urlencode({"resume": self.resume_token, "last_seq": self.last_seq})
        return f"{self.url}&{query}"

    def _ping_timeout(self) -> float:
        """A file sent faster than real time gets held back by the server, and our keepalive
        pings then wait behind the unread audio: give them long enough."""
        return 120.0 if getattr(self.source, "speed", 1.0) > 1.0 else 20.0

    async def run(self) -> int:
        backoff, failures = 0.5, 0
        while True:
            try:
                async with connect(
                    self._url(),
                    open_timeout=10,
                    max_size=4 * 1024 * 1024,
                    ping_timeout=self._ping_timeout(),
                    **self.tls_kwargs,
                ) as ws:
                    failures = 0
                    if await self._session(ws):
                        return 1 if self.source.failed else 0
                    why = "the server closed the connection"
            except (Fatal, PinMismatch) as e:
                warn(f"{self.opts.client_id}: {e}")
                return 1
            except ssl.SSLCertVerificationError as e:  # retrying will not make it trusted
                warn(
                    f"{self.opts.client_id}: the server's certificate is not trusted: "
                    f"{e.verify_message or e}; give --cafile CERT or --fingerprint SHA256"
                )
                return 1
            except ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else 1006
                reason = e.rcvd.reason if e.rcvd else "connection lost"
                if code in FATAL_CLOSE_CODES:
                    warn(f"{self.opts.client_id}: closed by the server ({code}): {reason}")
                    return 1
                why = f"connection closed ({code} {reason})".strip()
            except InvalidURI as e:
                warn(str(e))
                return 2
            except (OSError, InvalidHandshake, asyncio.TimeoutError) as e:
                why = f"cannot connect: {e or type(e).__name__}"
            self.printer.end_line()
            failures += 1
            if self.source.failed:
                return 1
            if self.stop.is_set():  # stopped by the user: do not reconnect
                return 0
            if self.opts.max_attempts is not None and failures >= self.opts.max_attempts:
                warn(f"{self.opts.client_id}: {why}; giving up")
                return 1
            warn(f"{self.opts.client_id}: {why}; reconnecting in {backoff:.1f} s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _session(self, ws) -> bool:
        """True once the server said ``done`` (we are finished)."""
        first = json.loads(await ws.recv())
        self.printer.message(first)
        if first.get("type") == "error":
            await self._drain_refusal(ws, first)
        self._on_ready(first)
        sender = asyncio.create_task(self._send(ws))
        try:
            async for raw in ws:
                if isinstance(raw, bytes):
                    continue
                msg = json.loads(raw)
                seq = msg.get("seq")
                if isinstance(seq, int):
                    if seq <= self.last_seq:  # seen before the reconnect
                        continue
                    self.last_seq = seq
                self.printer.message(msg)
                kind = msg.get("type")
                if kind == "transcript" and isinstance(msg.get("end"), (int, float)):
                    self.committed = max(self.committed, int(msg["end"] * SAMPLE_RATE))
                if kind in ("error", "notice") and not self.printer.json_mode:
                    self.printer.end_line()
                    warn(f"{self.opts.client_id}: {kind} {msg.get('code')}: {msg.get('message')}")
                elif kind == "done":
                    self.printer.end_line()
                    return True
            return False
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    def _on_ready(self, ready: dict) -> None:
        """A resumed session continues after the audio the server has. A new session after a
        lost one (the server, or the cluster replica, that held it is gone) first gets the
        audio after the last text that came back, so what was not transcribed is not lost."""
        lost_session = self.resume_token is not None
        self.resume_token = ready.get("resume_token") or None
        if ready.get("resumed"):
            received = int(ready.get("received_samples") or 0)
            self._resend, lost = self.sent.after(received)
            if lost:
                warn(f"{self.opts.client_id}: {lost:.1f} s of audio could not be sent again")
            return
        again: list[np.ndarray] = []
        if lost_session:
            again, lost = self.sent.after(self.committed)
            if lost:
                warn(f"{self.opts.client_id}: {lost:.1f} s of audio could not be sent again")
        self.last_seq = 0
        self.committed = 0
        self.sent.reset()
        for chunk in again:
            self.sent.add(chunk)
        self._resend = again

    async def _drain_refusal(self, ws, error: dict) -> None:
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as e:
            if e.rcvd and e.rcvd.code in FATAL_CLOSE_CODES:
                raise Fatal(f"refused: {error.get('message')}") from None
            raise
        raise Fatal(f"refused: {error.get('message')}")

    async def _send(self, ws) -> None:
        while self._resend:  # what the server did not get before the connection dropped
            await ws.send(encode_frame(self._resend[0], self.opts.format))
            self._resend.pop(0)
        async for chunk in self.source.frames():  # ends at the end of a file, or on stop()
            self.sent.add(chunk)
            await ws.send(encode_frame(chunk, self.opts.format))
        await ws.send(json.dumps(end_message()))
        await asyncio.sleep(self.opts.end_timeout)
        warn(f"{self.opts.client_id}: no 'done' within {self.opts.end_timeout:g} s")
        await ws.close()
