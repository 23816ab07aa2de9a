"""The desktop's own sessions (``user``, ``system``: in process, no WebSocket) reach the caption
feed of the server the host runs, and a restarted server leaves no stale observer behind."""

from __future__ import annotations

import json

import numpy as np
from websockets.sync.client import connect

from tests.support.fake_engine import FakeEngine
from whisper_desktop.host import EngineHost, HostConfig, HostState

CONFIG = HostConfig(model="fake", language="en", port=0)
SECOND = np.zeros(16000, dtype=np.float32)


def read_until_left(ws, ids: set[str]) -> list[dict]:
    got, gone = [], set()
    while gone != ids:
        msg = json.loads(ws.recv(timeout=10))
        got.append(msg)
        if msg["type"] == "source" and msg["event"] == "left":
            gone.add(msg["client_id"])
    return got


def test_local_sessions_reach_the_caption_feed(qtbot) -> None:
    engines: list[FakeEngine] = []

    def factory(config, progress):
        engines.append(FakeEngine(progress=progress))
        return engines[-1]

    host = EngineHost(engine_factory=factory, poll_seconds=0.2)
    opened: list[str] = []
    host.session_opened.connect(lambda cid, local: opened.append(cid))
    host.start(CONFIG)
    up = lambda: host.state == HostState.READY and host.server_info.running  # noqa: E731
    qtbot.waitUntil(up, timeout=5000)
    try:
        with connect(host.server_info.ws_url.replace("/ws/transcription", "/ws/captions")) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "ready"
            host.open_local("user")
            host.open_local("system")
            qtbot.waitUntil(lambda: {"user", "system"} <= set(opened), timeout=3000)
            host.feed("user", np.concatenate([SECOND, SECOND]))
            host.feed("system", SECOND)
            host.close_local("user")
            host.close_local("system")
            got = read_until_left(ws, {"user", "system"})
        said = {
            cid: "".join(m["text"] for m in got if m.get("client_id") == cid and "text" in m)
            for cid in ("user", "system")
        }
        assert said == {"user": " w1 w2 last.", "system": " w1 last."}
        joined = {m["client_id"]: m["transport"] for m in got if m.get("event") == "joined"}
        assert joined == {"user": "in-process", "system": "in-process"}
        # A new server (new port or token) on the same engine: the old feed stops observing.
        assert len(engines[-1]._observers) == 1
        before = host.server_info
        host.restart_server(CONFIG)
        moved = lambda: host.server_info.running and host.server_info != before  # noqa: E731
        qtbot.waitUntil(moved, timeout=5000)
        assert len(engines[-1]._observers) == 1
    finally:
        with qtbot.waitSignal(host.stopped, timeout=6000):
            host.shutdown(2.0)
