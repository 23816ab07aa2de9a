"""A middleware for Serve's HTTP proxies: a WebSocket whose replica died gets a clear close.

Serve's proxy drops such a connection without a close frame (the client sees 1006). With this
middleware the client gets 1012 (service restart) and a reason, and reconnects: Serve routes the
new connection to a live replica. Serve loads it from ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH
=server_core.cluster.proxy:middlewares``, set in every Ray node's environment (``deploy.start``
sets it for a local instance). Imports nothing but Starlette: it runs inside the proxy actor.
"""

from __future__ import annotations

import contextlib

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CALLBACK_ENV = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
CALLBACK = "server_core.cluster.proxy:middlewares"
CLOSE_SERVICE_RESTART = 1012
LOST_REASON = "the replica serving this session stopped; reconnect to continue"


class CloseLostSessions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        state = {"accepted": False, "over": False}

        async def watch_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                state["over"] = True  # the client left: nobody to tell
            return message

        async def watch_send(message: Message) -> None:
            if message["type"] == "websocket.accept":
                state["accepted"] = True
            elif message["type"] == "websocket.close":
                state["over"] = True
            await send(message)

        try:
            await self.app(scope, watch_receive, watch_send)
        finally:
            if state["accepted"] and not state["over"]:
                with contextlib.suppress(Exception):
                    await send(
                        {
                            "type": "websocket.close",
                            "code": CLOSE_SERVICE_RESTART,
                            "reason": LOST_REASON,
                        }
                    )


def middlewares() -> list[Middleware]:
    return [Middleware(CloseLostSessions)]
