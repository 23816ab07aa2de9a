"""The FastAPI app: the WebSocket transcription endpoint, REST, and the browser page.

Each WebSocket connection is one engine session. The engine calls the session's listener from
its scheduler thread; the listener only hands the event to the connection's asyncio loop
(``call_soon_threadsafe`` into a queue), so the engine thread never waits on a network peer.
One sender task per connection writes everything the client receives, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hmac
import ipaddress
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketState

from server_core import __version__
from server_core.audio import DEFAULT_LIMITS, FrameError, FrameFormat, FrameLimits, decode_frame
from server_core.config import SAMPLE_RATE
from server_core.events import ClosedEvent, NoticeEvent, TranscriptEvent

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "resources" / "web"
WS_PATH = "/ws/transcription"
_CLIENT_ID_RE = re.compile(r"[\w.:@+\-]{1,64}")

# Close codes (RFC 6455 and the IANA registry).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_LATER = 1013


@dataclass
class ApiOptions:
    token: Optional[str] = None  # required from non-loopback peers; None = local clients only
    max_clients: int = 8  # concurrent WebSocket clients
    idle_timeout: float = 60.0  # seconds without any client message before the server closes
    flush_timeout: float = 120.0  # seconds to wait for the engine's final events after "end"
    limits: FrameLimits = field(default_factory=lambda: DEFAULT_LIMITS)
    web_dir: Path = WEB_DIR


# --------------------------------------------------------------------------- access control


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


def check_access(conn: HTTPConnection, token: Optional[str]) -> Optional[str]:
    """None if the peer may proceed, else the reason it may not.

    Loopback peers need no token, unless they are another site's page in a local browser;
    everyone else must present the token (``?token=`` or ``Authorization: Bearer``).
    """
    peer = conn.client.host if conn.client else None
    if is_loopback(peer) and not _cross_origin(conn):
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


# --------------------------------------------------------------------------- one WebSocket client


class _Refused(Exception):
    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message


@dataclass
class _CloseAfterDone:
    code: int
    reason: str


class Connection:
    """One WebSocket client and its engine session."""

    def __init__(self, hub: Hub, ws: WebSocket) -> None:
        self.hub = hub
        self.ws = ws
        self.peer = ws.client.host if ws.client else None
        self.client_id = ""
        self.session: Any = None
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.ended = False  # the client (or the idle timer) asked for a flush
        self.closed_by_engine = False
        self.flush_timed_out = False
        self.last_activity = 0.0  # loop time of the last client message
        self.format = FrameFormat.NPY
        self.language: Optional[str] = None
        self.close_after_done = _CloseAfterDone(CLOSE_NORMAL, "done")
        self.frames = 0
        self.samples = 0

    # The engine's thread calls this; it must return at once.
    def listener(self, event: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.outbox.put_nowait, event)
        except RuntimeError:  # the loop is closed: the server is gone, nobody to tell
            pass

    def post(self, message: dict) -> None:
        self.outbox.put_nowait(message)

    def post_error(self, code: str, message: str) -> None:
        log.info("client %s (%s): %s: %s", self.client_id, self.peer, code, message)
        self.post({"type": "error", "code": code, "message": message})

    async def run(self) -> None:
        await self.ws.accept()
        try:
            await self._open()
        except _Refused as r:
            await self._refuse(r)
            return
        except Exception:  # never leave a slot reserved
            self.hub.release(self)
            raise
        try:
            await self._serve()
        finally:
            if not self.closed_by_engine:
                with contextlib.suppress(Exception):
                    self.session.abort()
            # The session holds our listener and we hold the session: break the cycle so the
            # session's audio is freed now, not at the next full garbage collection.
            self.session = None
            self.outbox = asyncio.Queue()
            self.hub.release(self)
            log.info(
                "client %s (%s) gone: %d frames, %.1f s of audio",
                self.client_id,
                self.peer,
                self.frames,
                self.samples / SAMPLE_RATE,
            )

    async def _open(self) -> None:
        q = self.ws.query_params
        reason = check_access(self.ws, self.hub.options.token)
        if reason:
            raise _Refused(CLOSE_POLICY, "unauthorized", reason)
        try:
            self.format = FrameFormat.parse(q.get("format"))
        except FrameError as e:
            raise _Refused(CLOSE_UNSUPPORTED, e.code, e.message) from None
        self.client_id = q.get("client_id") or f"client-{uuid.uuid4().hex[:8]}"
        if not _CLIENT_ID_RE.fullmatch(self.client_id):
            raise _Refused(
                CLOSE_POLICY,
                "bad_client_id",
                "client_id must be 1-64 letters, digits or . : @ + - _",
            )
        language = q.get("language") or q.get("lan")
        if language:
            from server_core.cli import normalize_language

            try:
                language = normalize_language(language)
            except ValueError as e:
                raise _Refused(CLOSE_POLICY, "bad_language", str(e)) from None
        self.language = language
        self.hub.reserve(self)  # raises _Refused when full or draining
        engine = self.hub.engine
        from server_core.engine import DuplicateSessionError

        meta = {"peer": self.peer, "transport": "websocket", "format": self.format.value}
        try:  # in a thread: opening a session loads its VAD state, which takes a moment
            self.session = await asyncio.to_thread(
                engine.open_session, self.client_id, self.listener, language=language, meta=meta
            )
        except DuplicateSessionError:
            self.hub.release(self)
            raise _Refused(
                CLOSE_POLICY,
                "duplicate_client_id",
                f"client_id {self.client_id!r} is already connected",
            ) from None
        except Exception as e:  # stopped engine, bad language, ...
            self.hub.release(self)
            log.warning("open_session(%s) failed: %s", self.client_id, e)
            raise _Refused(CLOSE_TRY_LATER, "unavailable", f"cannot open a session: {e}") from None

    async def _refuse(self, r: _Refused) -> None:
        log.info("refused %s (%s): %s", self.client_id or "?", self.peer, r.message)
        with contextlib.suppress(Exception):
            await self._send({"type": "error", "code": r.code, "message": r.message})
            await self.ws.close(r.close_code, _reason(r.message))

    async def _serve(self) -> None:
        engine = self.hub.engine
        await self._send(
            {
                "type": "ready",
                "client_id": self.client_id,
                "model": engine.model_name,
                "language": self.language or engine.language,
                "sample_rate": SAMPLE_RATE,
                "format": self.format.value,
            }
        )
        self.last_activity = asyncio.get_running_loop().time()
        tasks = [
            asyncio.create_task(self._send_loop()),
            asyncio.create_task(self._receive_loop()),
            asyncio.create_task(self._watchdog()),
        ]
        try:  # the sender ends after "done" (or a send failure), the receiver on disconnect
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _send(self, message: dict) -> None:
        await self.ws.send_text(json.dumps(message, ensure_ascii=False))

    async def _send_loop(self) -> None:
        """Everything the client receives goes through here, in order."""
        try:
            while True:
                item = await self.outbox.get()
                if isinstance(item, (TranscriptEvent, NoticeEvent)):
                    await self._send(item.to_wire())
                elif isinstance(item, ClosedEvent):
                    self.closed_by_engine = True
                    await self._send({"type": "done", "client_id": self.client_id})
                    cad = self.close_after_done
                    if not self.ended and self.hub.draining:
                        cad = _CloseAfterDone(CLOSE_GOING_AWAY, "the server is shutting down")
                    await self.ws.close(cad.code, _reason(cad.reason))
                    return
                elif isinstance(item, _CloseAfterDone):  # close without waiting for the engine
                    await self.ws.close(item.code, _reason(item.reason))
                    return
                else:
                    await self._send(item)
        except Exception as e:  # the peer went away while we were sending
            log.debug("send to %s failed: %r", self.client_id, e)

    async def _receive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message = await self.ws.receive()
            except Exception:
                return
            self.last_activity = loop.time()
            kind = message.get("type")
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive":
                continue
            if message.get("bytes") is not None:
                self._on_audio(message["bytes"])
            elif message.get("text") is not None:
                self._on_text(message["text"])

    async def _watchdog(self) -> None:
        """Idle timeout while streaming; flush timeout after "end"."""
        loop = asyncio.get_running_loop()
        opts = self.hub.options
        while True:
            limit = opts.flush_timeout if self.ended else opts.idle_timeout
            left = self.last_activity + limit - loop.time()
            if left > 0:
                await asyncio.sleep(left)
                continue
            if not self.ended:
                self._idle_timeout(opts.idle_timeout)
                self.last_activity = loop.time()  # the flush timer starts now
            elif not self.flush_timed_out:  # the sender closes the socket; that ends us
                self.flush_timed_out = True
                self.post_error("flush_timeout", "the engine did not finish the flush in time")
                self.post(_CloseAfterDone(CLOSE_INTERNAL, "flush timed out"))
            else:
                await asyncio.sleep(3600)

    def _idle_timeout(self, seconds: float) -> None:
        text = f"idle timeout: nothing received for {seconds:g} s"
        self.post_error("idle_timeout", text + "; flushing and closing")
        self.close_after_done = _CloseAfterDone(CLOSE_POLICY, text)
        self._end()

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        try:
            self.session.end()
        except Exception as e:  # already closed by the engine (e.g. engine stopping)
            log.debug("end(%s): %r", self.client_id, e)

    def _on_audio(self, data: bytes) -> None:
        if self.ended:
            self.post_error("after_end", f"frame of {len(data)} bytes after 'end' was not accepted")
            return
        try:
            samples = decode_frame(data, self.format, self.hub.options.limits)
        except FrameError as e:
            self.post_error(e.code, f"{e.message} (frame not accepted)")
            return
        try:
            self.session.push(samples)
        except Exception as e:
            if self.hub.draining:
                self.post_error(
                    "shutting_down",
                    "the server is shutting down: audio after this point is not transcribed",
                )
            else:
                self.post_error("not_accepted", f"frame not accepted: {e}")
            return
        self.frames += 1
        self.samples += samples.size

    def _on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self.post_error("bad_json", 'text frames must be JSON such as {"type": "end"}')
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "end":
            self._end()
        elif kind == "ping":
            self.post({"type": "pong", "timestamp": time.time()})
        elif kind is None:
            self.post_error("bad_message", "a text frame must be a JSON object with a 'type'")
        else:
            self.post_error("unknown_type", f"unknown message type {str(kind)[:40]!r}")


def _reason(text: str) -> str:
    """A close reason fits in 123 bytes of UTF-8."""
    data = text.encode("utf-8")[:123]
    return data.decode("utf-8", errors="ignore")


# --------------------------------------------------------------------------- all clients


def _load_malloc_trim() -> Optional[Callable[[int], int]]:
    """glibc's ``malloc_trim``, or None on other C libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _load_malloc_trim()


class Hub:
    """The engine plus the set of live WebSocket connections."""

    TRIM_DELAY = 2.0  # seconds after the last client left
    TRIM_MAX_INTERVAL = 30.0

    def __init__(self, engine: Any, options: ApiOptions) -> None:
        self.engine = engine
        self.options = options
        self.connections: dict[int, Connection] = {}
        self.draining = False
        self.config_lock = asyncio.Lock()
        self._trim_handle: Optional[asyncio.TimerHandle] = None
        self._last_trim: Optional[float] = None

    def reserve(self, conn: Connection) -> None:
        if self.draining:
            raise _Refused(CLOSE_GOING_AWAY, "shutting_down", "the server is shutting down")
        if len(self.connections) >= self.options.max_clients:
            raise _Refused(
                CLOSE_TRY_LATER,
                "too_many_clients",
                f"the server is full ({self.options.max_clients} clients); try again later",
            )
        self.connections[id(conn)] = conn

    def release(self, conn: Connection) -> None:
        if self.connections.pop(id(conn), None) is not None:
            self._schedule_trim()

    def _schedule_trim(self) -> None:
        """Give memory freed by ended sessions back to the OS, a moment after they end.

        A session's audio and decoder tensors are freed by the engine's thread, and glibc keeps
        freed pages in its arenas; under connect/disconnect churn the resident size creeps up
        without a trim (measured on tiny.en: about +5% per 200 cycles; flat with it).
        """
        if _malloc_trim is None:
            return
        loop = asyncio.get_running_loop()
        if self._last_trim is None:
            self._last_trim = loop.time()
        if self._trim_handle is not None:  # debounce: trim once the churn pauses ...
            self._trim_handle.cancel()
        overdue = loop.time() - self._last_trim > self.TRIM_MAX_INTERVAL  # ... or now and then

        def fire() -> None:
            self._trim_handle = None
            self._last_trim = loop.time()
            threading.Thread(
                target=_malloc_trim, args=(0,), name="malloc-trim", daemon=True
            ).start()

        self._trim_handle = loop.call_later(0 if overdue else self.TRIM_DELAY, fire)


# --------------------------------------------------------------------------- the app


def _client_info(info: Any) -> dict:
    meta = getattr(info, "meta", None) or {}
    return {
        "client_id": info.client_id,
        "lag": round(float(info.lag), 3),
        "state": info.state,
        "peer": meta.get("peer") or "in-process",
        "transport": meta.get("transport", "in-process"),
        "received_seconds": round(float(getattr(info, "received_seconds", 0.0)), 3),
        "processed_seconds": round(float(getattr(info, "processed_seconds", 0.0)), 3),
    }


def _denied(reason: str) -> JSONResponse:
    return JSONResponse({"error": "unauthorized", "message": reason}, status_code=401)


async def _config_request(request: Request) -> dict[str, str]:
    """Model/language from query params (``?lan=..&model=..``) and/or a JSON body."""
    values: dict[str, str] = {}
    body = await request.body()
    if body.strip():
        try:
            data = json.loads(body)
        except ValueError:
            raise ValueError('the body must be JSON such as {"model": "base"}') from None
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        values.update({k: v for k, v in data.items() if v not in (None, "")})
    for key in ("model", "language", "lan"):
        if request.query_params.get(key):
            values[key] = request.query_params[key]
    if "lan" in values:
        values.setdefault("language", values.pop("lan"))
    unknown = set(values) - {"model", "language"}
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    if not values:
        raise ValueError("give 'model' and/or 'language' (JSON body or ?model=..&lan=..)")
    for key, value in values.items():
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
    return values


def create_app(engine: Any, options: Optional[ApiOptions] = None) -> FastAPI:
    """The server app for ``engine`` (started or not; requests need it started)."""
    options = options or ApiOptions()
    app = FastAPI(
        title="Whisper Desktop server", version=__version__, docs_url=None, redoc_url=None
    )
    hub = Hub(engine, options)
    app.state.hub = hub

    @app.websocket(WS_PATH)
    async def transcription(ws: WebSocket) -> None:
        await Connection(hub, ws).run()
        if ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(CLOSE_NORMAL)

    @app.get("/health")
    async def health() -> dict:
        return {
            "status": "draining" if hub.draining else "ok",
            "version": __version__,
            "model": engine.model_name,
            "language": engine.language,
            "clients": len(hub.connections),
            "max_clients": options.max_clients,
        }

    @app.get("/clients")
    async def clients(request: Request):
        reason = check_access(request, options.token)
        if reason:
            return _denied(reason)
        return {"clients": [_client_info(s) for s in engine.sessions()]}

    @app.post("/config")
    async def config(request: Request):
        reason = check_access(request, options.token)
        if reason:
            return _denied(reason)
        try:
            values = await _config_request(request)
            from server_core.cli import normalize_language, normalize_model_spec

            model = values.get("model")
            language = values.get("language")
            model = normalize_model_spec(model) if model else None
            language = normalize_language(language) if language else None
        except ValueError as e:
            return JSONResponse({"error": "bad_request", "message": str(e)}, status_code=400)
        async with hub.config_lock:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(
                    None, lambda: engine.reconfigure(model=model, language=language)
                )
            except Exception as e:  # ModelError, ValueError: the old model stays
                log.warning("reconfigure(model=%s, language=%s) failed: %s", model, language, e)
                return JSONResponse(
                    {
                        "error": "config_failed",
                        "message": str(e).splitlines()[0] if str(e) else type(e).__name__,
                    },
                    status_code=400,
                )
        log.info("reconfigured: model=%s language=%s", engine.model_name, engine.language)
        return {"status": "ok", "model": engine.model_name, "language": engine.language}

    @app.get("/", include_in_schema=False)
    async def index():
        page = options.web_dir / "index.html"
        if not page.is_file():
            return JSONResponse({"error": "the web page is not installed"}, status_code=404)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    app.mount("/web", StaticFiles(directory=options.web_dir, check_dir=False), name="web")
    return app
