"""A WebSocket client that sends a clip in 1 s frames, ends, and returns the text it got."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import numpy as np
from websockets.asyncio.client import connect

from server_core.audio.wire import FrameFormat, encode_frame


async def transcribe_over_ws(
    url: str, audio: np.ndarray, pause: float, on_ready: Callable[[], None] | None = None
) -> str:
    """Stream ``audio`` to ``url`` (``pause`` seconds between 1 s frames); the transcript."""
    async with connect(url) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        if on_ready is not None:
            on_ready()
        for k in range(0, audio.size, 16000):
            await ws.send(encode_frame(audio[k : k + 16000], FrameFormat.NPY))
            await asyncio.sleep(pause)
        await ws.send(json.dumps({"type": "end"}))
        text = []
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "transcript":
                text.append(msg["text"])
            elif msg["type"] == "done":
                return "".join(text)
    raise AssertionError("the connection closed before done")
