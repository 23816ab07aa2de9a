"""Hostile and careless clients: a foreign Host, deep JSON, audio out of range, early leavers."""

from __future__ import annotations

import json
import logging
import socket
import time

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from server_core.audio.wire import FrameFormat, encode_frame
from server_core.net.hosts import HostAllowList, host_name
from server_core.net.server import LocalServer, ServerOptions
from tests.server_core.net.test_api import SECOND, make_client, open_ws, ws_url
from tests.support.fake_engine import FakeEngine

REBOUND = {"host": "evil.example:9000", "origin": "http://evil.example:9000"}


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.stop(flush=False)


@pytest.mark.parametrize(
    ("header", "name"),
    [("Evil.Example:9000", "evil.example"), ("[::1]:9000", "::1"), ("host.lan.", "host.lan")],
)
def test_host_name_drops_port_brackets_and_dot(header: str, name: str) -> None:
    assert host_name(header) == name


def test_the_allow_list_takes_addresses_local_names_and_extras() -> None:
    hosts = HostAllowList(["box.example"])
    for ok in (
        "127.0.0.1:9000",
        "[::1]:9000",
        "192.168.1.20:9000",
        "localhost:9000",
        "app.localhost",
        socket.gethostname(),
        "box.example:9000",
        None,
    ):
        assert hosts.allows(ok), ok
    for bad in ("evil.example:9000", "127.0.0.1.nip.io", "localhost.evil.example", ""):
        assert not hosts.allows(bad), bad
    assert HostAllowList(["*"]).allows("evil.example")


def test_a_rebound_name_is_refused_on_every_route(engine) -> None:
    with make_client(engine, allowed_hosts=()) as tc:
        assert tc.post("/config?lan=fr", headers=REBOUND).status_code == 403
        assert engine.language != "fr"  # nothing was reconfigured
        for path in ("/clients", "/health", "/"):
            response = tc.get(path, headers=REBOUND)
            assert response.status_code == 403, path
            assert response.json()["error"] == "host_not_allowed"
            assert "--allowed-host evil.example" in response.json()["message"]
        with pytest.raises(WebSocketDisconnect) as refused:
            with tc.websocket_connect(ws_url("rebound"), headers=REBOUND) as ws:
                ws.receive_json()
        assert refused.value.code == 1008
        assert engine.sessions() == []
        local = {"host": "127.0.0.1:9000"}
        assert tc.get("/clients", headers=local).status_code == 200
        assert tc.post("/config?lan=fr", headers=local).json()["language"] == "fr"


def test_deep_json_gets_an_error_and_the_session_goes_on(engine) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("deep")) as ws:
        ws.receive_json()
        for _ in range(3):
            ws.send_text("[" * 5000 + "]" * 5000)
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["code"] == "bad_json", msg
        ws.send_bytes(encode_frame(SECOND, FrameFormat.NPY))
        assert ws.receive_json()["text"] == " w1"


def test_audio_out_of_range_is_refused_with_a_hint(engine) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("loud")) as ws:
        ws.receive_json()
        ws.send_bytes(encode_frame(np.full(1600, 1e30, np.float32), FrameFormat.NPY))
        msg = ws.receive_json()
        assert msg["code"] == "out_of_range" and "not accepted" in msg["message"], msg
        int16_scaled = (np.sin(np.arange(1600) / 5) * 12000).astype(np.float32)
        ws.send_bytes(encode_frame(int16_scaled, FrameFormat.NPY))
        msg = ws.receive_json()
        assert msg["code"] == "out_of_range" and "32768" in msg["message"], msg
        ws.send_bytes(encode_frame(np.full(16000, 1.05, np.float32), FrameFormat.NPY))
        assert ws.receive_json()["text"] == " w1"  # a small overshoot is clipped, not refused
        assert engine.get_session("loud").received == 16000
        assert float(np.abs(engine.get_session("loud").chunks[0]).max()) <= 1.0


def test_clients_leaving_before_ready_log_no_traceback(engine, caplog) -> None:
    from websockets.sync.client import connect

    server = LocalServer(engine, ServerOptions(port=0))
    server.start()
    caplog.set_level(logging.INFO)
    try:
        for i in range(200):
            ws = connect(f"{server.ws_url}?client_id=early{i}")
            ws.socket.shutdown(socket.SHUT_RDWR)  # gone before "ready" could be read
            ws.socket.close()
        deadline = time.monotonic() + 10
        while (engine.sessions() or server.client_count()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.sessions() == [] and server.client_count() == 0
    finally:
        server.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_config_is_still_refused_to_foreign_pages_with_a_local_host(engine) -> None:
    headers = {"host": "127.0.0.1:9000", "origin": "http://evil.example"}
    with make_client(engine, allowed_hosts=()) as tc:
        response = tc.post("/config", content=json.dumps({"language": "fr"}), headers=headers)
        assert response.status_code == 401
