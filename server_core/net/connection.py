"""One WebSocket client and its engine session.

The engine calls the session's listener (its :class:`Relay`) from its loop thread; the relay
only hands the event to the connection's asyncio loop (``call_soon_threadsafe`` into a queue),
so the engine thread never waits on a network peer. One sender task per connection writes
everything the client receives, in order.

A connection that drops without "end" leaves its session parked for ``resume_grace`` seconds:
the client reconnects with ``?client_id=..&resume=TOKEN&last_seq=N`` (the token came in
"ready", N is the ``seq`` of the last event it got) and continues where it was: it is told how
much audio the server has (``received_samples``) and gets every event after N again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from fastapi import WebSocket

from server_core.audio.wire import FrameError, FrameFormat, decode_frame
from server_core.config import SAMPLE_RATE, TASKS, SessionOptions, check_beams
from server_core.contract import SessionHandle
from server_core.errors import DuplicateSessionError
from server_core.events import ClosedEvent, CloseReason, NoticeEvent
from server_core.languages import normalize_language
from server_core.net.auth import check_access
from server_core.net.hub import Held
from server_core.net.protocol import (
    CLIENT_ID_RE,
    CLIENT_ID_RULE,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TRY_LATER,
    CLOSE_UNSUPPORTED,
    Refused,
    close_reason,
    error_message,
)
from server_core.net.relay import Numbered, Relay

if TYPE_CHECKING:
    from server_core.net.hub import Hub

log = logging.getLogger(__name__)


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
        self.session: Optional[SessionHandle] = None
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
        self.started = 0.0  # loop time of "ready"
        self.held_back = False
        self.held: Optional[Held] = None
        self.resumed = False
        self.superseded = False  # the client resumed its session on another connection
        self.server_closed = False  # we closed it (timeouts): no resume
        self._deliver = self._to_outbox  # one object, so the relay can tell it is ours

    # The engine's thread calls this (through the relay); it must return at once.
    def _to_outbox(self, item: Numbered) -> None:
        try:
            self.loop.call_soon_threadsafe(self.outbox.put_nowait, item)
        except RuntimeError:  # the loop is closed: the server is gone, nobody to tell
            pass

    def supersede(self) -> None:
        """The client resumed this session on a new connection: close this one, leave the
        session alone."""
        self.superseded = True
        self.post(_CloseAfterDone(CLOSE_GOING_AWAY, "resumed on another connection"))

    def post(self, message: dict) -> None:
        self.outbox.put_nowait(message)

    def post_error(self, code: str, message: str) -> None:
        log.info("client %s (%s): %s: %s", self.client_id, self.peer, code, message)
        self.post(error_message(code, message))

    async def run(self) -> None:
        try:
            await self.ws.accept()
        except Exception as e:  # gone during the handshake
            log.info("client (%s) left during the handshake: %r", self.peer, e)
            return
        try:
            await self._open()
        except Refused as r:
            await self._refuse(r)
            return
        except Exception:  # never leave a slot reserved
            self.hub.release(self)
            raise
        try:
            await self._serve()
        finally:
            self._leave()
            # The session holds our listener and we hold the session: break the cycle so the
            # session's audio is freed now, not at the next full garbage collection.
            self.session = None
            self.held = None
            self.outbox = asyncio.Queue()
            self.hub.release(self)
            log.info(
                "client %s (%s) gone: %d frames, %.1f s of audio",
                self.client_id,
                self.peer,
                self.frames,
                self.samples / SAMPLE_RATE,
            )

    def _leave(self) -> None:
        """The connection is over: park the session for a resume, or end it."""
        held = self.held
        if held is None or held.owner is not self:  # superseded: the session lives on
            return
        held.relay.detach(self._deliver)
        grace = self.hub.options.resume_grace
        if self.closed_by_engine or grace <= 0 or self.server_closed or self.hub.draining:
            self.hub.drop(held)
            if not self.closed_by_engine:
                with contextlib.suppress(Exception):
                    held.session.abort()
        else:
            self.hub.park(held, grace)

    def _resume(self, token: str) -> bool:
        """Take over a parked session (True), or say why not and open a new one (False)."""
        if self.hub.options.resume_grace <= 0:
            text = "this server keeps no session for a resume; this is a new session"
            self.post(NoticeEvent(self.client_id, "resume_off", text).to_wire())
            return False
        self.hub.reserve(self)  # raises Refused when full or draining
        try:
            held = self.hub.claim(self.client_id, token, self)  # Refused on a wrong token
        except Refused:
            self.hub.release(self)
            raise
        if held is None:
            self.hub.release(self)
            text = (
                "that session is no longer kept (its resume time ran out or the server "
                "restarted); this is a new session"
            )
            self.post(NoticeEvent(self.client_id, "resume_expired", text).to_wire())
            return False
        self.held, self.session, self.resumed = held, held.session, True
        log.info("client %s (%s) resumed its session", self.client_id, self.peer)
        return True

    def _attach(self, after: Optional[int]) -> None:
        """Our outbox gets the session's events: first those the client missed."""
        held = self.held
        assert held is not None
        replay = held.relay.attach(self._deliver, after)
        if replay.gap:
            text = "some captions from before the reconnect are no longer kept"
            self.post(NoticeEvent(self.client_id, "resume_gap", text).to_wire())
        for item in replay.missed:
            self.post(item)
        if replay.closed is not None:
            self.post(replay.closed)

    async def _open(self) -> None:
        q = self.ws.query_params
        reason = check_access(self.ws, self.hub.options.token, self.hub.options.require_token)
        if reason:
            raise Refused(CLOSE_POLICY, "unauthorized", reason)
        try:
            self.format = FrameFormat.parse(q.get("format"))
        except FrameError as e:
            raise Refused(CLOSE_UNSUPPORTED, e.code, e.message) from None
        self.client_id = q.get("client_id") or f"client-{uuid.uuid4().hex[:8]}"
        if not CLIENT_ID_RE.fullmatch(self.client_id):
            raise Refused(
                CLOSE_POLICY,
                "bad_client_id",
                CLIENT_ID_RULE,
            )
        language = q.get("language") or q.get("lan")
        if language:
            try:
                language = normalize_language(language)
            except ValueError as e:
                raise Refused(CLOSE_POLICY, "bad_language", str(e)) from None
        self.language = language
        options = session_options(q)  # Refused with the allowed values
        token = q.get("resume")
        if token and self._resume(token):
            self._attach(_last_seq(q.get("last_seq")))
            return
        self.hub.reserve(self)  # raises Refused when full or draining
        engine = self.hub.engine
        meta = {"peer": self.peer, "transport": "websocket", "format": self.format.value}
        relay = Relay()
        parked = self.hub.take_over(self.client_id)
        if parked is not None:  # reconnected without the token: the old session ends first
            await asyncio.to_thread(parked.wait_closed, 10.0)
        try:  # in a thread: opening a session loads its VAD state, which takes a moment
            self.session = await asyncio.to_thread(
                engine.open_session,
                self.client_id,
                relay.listener,
                language=language,
                meta=meta,
                options=options,
            )
        except DuplicateSessionError:
            self.hub.release(self)
            raise Refused(
                CLOSE_POLICY,
                "duplicate_client_id",
                f"client_id {self.client_id!r} is already connected (or kept for its client "
                "to resume, which needs the resume token of its 'ready' message)",
            ) from None
        except Exception as e:  # stopped engine, bad language, ...
            self.hub.release(self)
            log.warning("open_session(%s) failed: %s", self.client_id, e)
            raise Refused(CLOSE_TRY_LATER, "unavailable", f"cannot open a session: {e}") from None
        self.held = Held(self.client_id, self.session, relay, owner=self)
        self.hub.hold(self.held)
        self._attach(0)

    async def _refuse(self, r: Refused) -> None:
        log.info("refused %s (%s): %s", self.client_id or "?", self.peer, r.message)
        with contextlib.suppress(Exception):
            await self._send(error_message(r.code, r.message))
            await self.ws.close(r.close_code, close_reason(r.message))

    async def _serve(self) -> None:
        engine = self.hub.engine
        held = self.held
        assert held is not None
        try:
            await self._send(
                {
                    "type": "ready",
                    "client_id": self.client_id,
                    "model": engine.model_name,
                    "language": self.language or engine.language,
                    "sample_rate": SAMPLE_RATE,
                    "format": self.format.value,
                    "resume_token": held.token,
                    "resumed": self.resumed,
                    "received_samples": held.samples,
                    "seq": held.relay.seq,
                    "device": engine.device,
                    "dtype": engine.dtype,
                }
            )
        except Exception as e:  # the client left right after connecting: nothing to serve
            log.info("client %s (%s) left before ready: %r", self.client_id, self.peer, e)
            return
        self.last_activity = self.started = asyncio.get_running_loop().time()
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
                if isinstance(item, Numbered):
                    event = item.event
                    if isinstance(event, ClosedEvent):
                        self.closed_by_engine = True
                        await self._closed(event)
                        return
                    await self._send({**event.to_wire(), "seq": item.seq})
                elif isinstance(item, _CloseAfterDone):  # close without waiting for the engine
                    self.server_closed = not self.superseded
                    await self.ws.close(item.code, close_reason(item.reason))
                    return
                else:
                    await self._send(item)
        except Exception as e:  # the peer went away while we were sending
            log.debug("send to %s failed: %r", self.client_id, e)

    async def _closed(self, event: ClosedEvent) -> None:
        """The engine closed the session: "done" after a flush, an error otherwise."""
        cad = self.close_after_done
        if event.reason is CloseReason.ENDED:
            await self._send({"type": "done", "client_id": self.client_id})
            if not self.ended and self.hub.draining:
                cad = _CloseAfterDone(CLOSE_GOING_AWAY, "the server is shutting down")
        else:
            text = "the engine stopped before this session was flushed"
            await self._send(error_message(event.reason.value, text))
            cad = _CloseAfterDone(CLOSE_GOING_AWAY, text)
        await self.ws.close(cad.code, close_reason(cad.reason))

    def _ahead(self) -> float:
        """Seconds of audio received beyond real time since "ready"."""
        return self.samples / SAMPLE_RATE - (self.loop.time() - self.started)

    async def _hold_back(self) -> None:
        """Stop reading from a client far ahead of real time while the engine is behind on it,
        so one upload cannot crowd out the others; TCP then slows the sender down."""
        limit = self.hub.options.max_ahead
        while (
            self.session is not None
            and not self.ended
            and self._ahead() > limit
            and self.session.lag > limit
        ):
            if not self.held_back:
                self.held_back = True
                log.info(
                    "client %s (%s): held back, far ahead of real time", self.client_id, self.peer
                )
                text = (
                    f"audio arrives faster than it is transcribed; reading pauses while more "
                    f"than {limit:g} s of it waits (nothing is dropped)"
                )
                self.post(NoticeEvent(self.client_id, "held_back", text).to_wire())
            self.last_activity = self.loop.time()  # we are the ones not reading
            await asyncio.sleep(0.05)

    async def _receive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._hold_back()
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
            try:
                if message.get("bytes") is not None:
                    self._on_audio(message["bytes"])
                elif message.get("text") is not None:
                    self._on_text(message["text"])
            except Exception:  # a bug, not the client's fault: report it and go on
                log.exception("client %s (%s): message not handled", self.client_id, self.peer)
                self.post_error("internal", "the server could not handle that message")

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
        if self.held is not None:
            self.held.samples += samples.size

    def _on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
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


def _last_seq(value: Optional[str]) -> Optional[int]:
    """The client's ``last_seq``: None (not given) means the events it cannot have seen."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


def session_options(q) -> SessionOptions:
    """``task``, ``init_prompt``, ``static_prompt`` and ``beams`` of the query."""
    task = q.get("task") or None
    if task is not None and task not in TASKS:
        raise Refused(CLOSE_POLICY, "bad_task", f"task must be one of {', '.join(TASKS)}")
    try:
        beams = parse_beams(q.get("beams") or None)
    except ValueError as e:
        raise Refused(CLOSE_POLICY, "bad_beams", str(e)) from None
    return SessionOptions(task, q.get("init_prompt"), q.get("static_prompt"), beams)


def parse_beams(value: object) -> Optional[int]:
    """``beams`` as given by a client (text or a number), checked; None when not given."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            check_beams(value)  # raises, naming the allowed range
    check_beams(value)
    return value  # type: ignore[return-value]
