"""One client id streaming one feed over one connection at a time; reconnects with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from server_core.audio.wire import FrameFormat, encode_frame
from server_core.client.feeds import Feed, warn
from server_core.client.printer import Printer
from server_core.net.protocol import FATAL_CLOSE_CODES, WS_PATH, end_message

MAX_BACKOFF = 10.0


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
        raise ValueError(f"unsupported server URL {server!r}; use ws://HOST:PORT")
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


class Fatal(Exception):
    """The server refused us for a reason that retrying will not fix."""


class Stream:
    """One client id, one connection at a time, one audio source; reconnects with backoff."""

    def __init__(
        self, opts: StreamOptions, source: Feed, printer: Printer, stop: asyncio.Event
    ) -> None:
        self.opts, self.source, self.printer, self.stop = opts, source, printer, stop
        self.url = ws_url(opts.server, opts.client_id, opts.format, opts.token, opts.language)

    def _ping_timeout(self) -> float:
        """A file sent faster than real time gets held back by the server, and our keepalive
        pings then wait behind the unread audio: give them long enough."""
        return 120.0 if getattr(self.source, "speed", 1.0) > 1.0 else 20.0

    async def run(self) -> int:
        backoff, failures = 0.5, 0
        while True:
            try:
                async with connect(
                    self.url,
                    open_timeout=10,
                    max_size=4 * 1024 * 1024,
                    ping_timeout=self._ping_timeout(),
                ) as ws:
                    failures = 0
                    if await self._session(ws):
                        return 1 if self.source.failed else 0
                    why = "the server closed the connection"
            except Fatal as e:
                warn(f"{self.opts.client_id}: {e}")
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
        sender = asyncio.create_task(self._send(ws))
        try:
            async for raw in ws:
                if isinstance(raw, bytes):
                    continue
                msg = json.loads(raw)
                self.printer.message(msg)
                kind = msg.get("type")
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

    async def _drain_refusal(self, ws, error: dict) -> None:
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as e:
            if e.rcvd and e.rcvd.code in FATAL_CLOSE_CODES:
                raise Fatal(f"refused: {error.get('message')}") from None
            raise
        raise Fatal(f"refused: {error.get('message')}")

    async def _send(self, ws) -> None:
        async for chunk in self.source.frames():  # ends at the end of a file, or on stop()
            await ws.send(encode_frame(chunk, self.opts.format))
        await ws.send(json.dumps(end_message()))
        await asyncio.sleep(self.opts.end_timeout)
        warn(f"{self.opts.client_id}: no 'done' within {self.opts.end_timeout:g} s")
        await ws.close()
