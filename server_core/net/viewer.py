"""One caption viewer on ``/ws/captions``: read-only, it sends no audio.

Same access rules as ``/ws/transcription`` (loopback free, others the token; the Host check is
the app's middleware). The viewer gets ``ready`` (model, language, the sources open now), the
backlog, then every source's ``transcript`` and ``source`` (joined/left) messages live. Text
frames it sends are ignored, except ``{"type":"ping"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING

from fastapi import WebSocket

from server_core.net.auth import check_access
from server_core.net.captions import Viewer
from server_core.net.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    CLOSE_TRY_LATER,
    Refused,
    close_reason,
    error_message,
)

if TYPE_CHECKING:
    from server_core.net.hub import Hub

log = logging.getLogger(__name__)


def _admit(hub: Hub, ws: WebSocket) -> None:
    """Raises Refused when this viewer may not watch."""
    options = hub.options
    reason = check_access(ws, options.token, options.require_token)
    if reason:
        raise Refused(CLOSE_POLICY, "unauthorized", reason)
    if hub.draining:
        raise Refused(CLOSE_GOING_AWAY, "shutting_down", "the server is shutting down")
    if hub.captions.viewer_count >= options.max_viewers:
        raise Refused(
            CLOSE_TRY_LATER,
            "too_many_viewers",
            f"the caption feed is full ({options.max_viewers} viewers); try again later",
        )


async def serve_viewer(hub: Hub, ws: WebSocket) -> None:
    peer = ws.client.host if ws.client else None
    try:
        await ws.accept()
    except Exception as e:  # gone during the handshake
        log.info("viewer (%s) left during the handshake: %r", peer, e)
        return

    async def send(message: dict) -> None:
        await ws.send_text(json.dumps(message, ensure_ascii=False))

    try:
        _admit(hub, ws)
    except Refused as r:
        log.info("refused viewer (%s): %s", peer, r.message)
        with contextlib.suppress(Exception):
            await send(error_message(r.code, r.message))
            await ws.close(r.close_code, close_reason(r.message))
        return
    viewer = Viewer(asyncio.get_running_loop(), hub.options.viewer_queue)
    sources, backlog = hub.captions.join(viewer)
    log.info("viewer (%s) joined; %d watching", peer, hub.captions.viewer_count)
    try:
        engine = hub.engine
        await send(
            {
                "type": "ready",
                "feed": "captions",
                "model": engine.model_name,
                "language": engine.language,
                "sources": sources,
                "backlog": len(backlog),
            }
        )
        for message in backlog:
            await send(message)
        await _pump(viewer, ws, send)
    except Exception as e:  # the viewer went away while we were sending
        log.debug("viewer (%s): %r", peer, e)
    finally:
        hub.captions.leave(viewer)
        log.info("viewer (%s) left; %d dropped", peer, viewer.dropped_total)


def _is_ping(text: str | None) -> bool:
    if not text:
        return False
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(message, dict) and message.get("type") == "ping"


async def _pump(viewer: Viewer, ws: WebSocket, send) -> None:
    """Send the feed until the viewer disconnects."""

    async def sender() -> None:
        while True:
            await send(await viewer.next())

    async def receiver() -> None:
        while True:
            message = await ws.receive()
            if message.get("type") == "websocket.disconnect":
                return
            if _is_ping(message.get("text")):
                viewer.put({"type": "pong", "timestamp": time.time()})

    tasks = [asyncio.create_task(sender()), asyncio.create_task(receiver())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a send failure: the viewer is gone
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
