"""One client uploading far faster than real time does not crowd out a real-time client."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest

from server_core.audio.files import read_wav
from server_core.audio.wire import FrameFormat, encode_frame
from server_core.config import SAMPLE_RATE
from tests.server_core.net.test_server_e2e import check_wer, offline, server  # noqa: F401
from tests.support.server_helpers import endpoint, run, stream_audio

pytestmark = [pytest.mark.e2e, pytest.mark.model]

FLOOD_FRAME = 10 * SAMPLE_RATE  # the largest frame the server takes


async def flood(url: str, audio: np.ndarray, stop: asyncio.Event) -> tuple[list[dict], float]:
    """Send ``audio`` as fast as the socket takes it until ``stop``; (messages, seconds sent)."""
    from websockets.asyncio.client import connect

    messages: list[dict] = []
    sent = 0
    async with connect(url, max_size=None, ping_timeout=None) as ws:  # held back: pings wait

        async def receive() -> None:
            async for raw in ws:
                messages.append(json.loads(raw))

        receiver = asyncio.create_task(receive())
        for i in range(0, audio.shape[0], FLOOD_FRAME):
            if stop.is_set():
                break
            send = asyncio.create_task(
                ws.send(encode_frame(audio[i : i + FLOOD_FRAME], FrameFormat.NPY))
            )
            done, _ = await asyncio.wait(
                [send, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            if send not in done:
                send.cancel()
                break
            sent += min(FLOOD_FRAME, audio.shape[0] - i)
        await stop.wait()
        receiver.cancel()
    return messages, sent / SAMPLE_RATE


def test_a_flooder_is_held_back_and_the_real_time_client_keeps_its_words(
    server,  # noqa: F811
    speech_dir,
    offline,  # noqa: F811
):
    name = "fleurs_en_000"
    offline(name)
    bystander_audio = read_wav(speech_dir / f"{name}.wav")
    speech = read_wav(speech_dir / "ljs_lj001_a.wav")
    thirty_minutes = np.tile(speech, int(np.ceil(1800 * SAMPLE_RATE / speech.shape[0])))

    async def both():
        stop = asyncio.Event()
        flooder = asyncio.create_task(
            flood(endpoint(server.ws_url, "flooder"), thirty_minutes, stop)
        )
        await asyncio.sleep(2.0)
        started = time.monotonic()
        bystander = await stream_audio(
            endpoint(server.ws_url, "bystander"), "bystander", bystander_audio
        )
        elapsed = time.monotonic() - started + 2.0
        stop.set()
        return bystander, *(await flooder), elapsed

    bystander, flood_messages, flood_seconds, elapsed = run(both())
    assert bystander.types[-1] == "done" and "notice" not in bystander.types
    check_wer(speech_dir, offline, name, bystander)
    codes = [m.get("code") for m in flood_messages if m["type"] in ("notice", "error")]
    assert "held_back" in codes, flood_messages[:5]
    assert "lag_skip" not in codes  # held back, not dropped
    # the sockets' buffers took a few minutes of it, then the server stopped reading (without
    # holding back it reads all 30 minutes in about 15 s)
    assert flood_seconds < 600, (flood_seconds, elapsed)
