"""Hostile and careless clients: a foreign Host, deep JSON, audio out of range, early leavers."""

from __future__ import annotations

import json
import logging
import random
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


def test_require_token_asks_local_peers_too(engine) -> None:
    """Behind a reverse proxy on this machine every peer is 127.0.0.1."""
    with make_client(engine, token="s3cret", require_token=True) as tc:
        assert tc.get("/clients").status_code == 401
        assert tc.get("/clients?token=s3cret").status_code == 200
        with tc.websocket_connect(ws_url("proxied")) as ws:
            assert ws.receive_json()["code"] == "unauthorized"
        with open_ws(tc, ws_url("proxied", token="s3cret")) as ws:
            assert ws.receive_json()["type"] == "ready"
    with make_client(engine, token="s3cret") as tc:
        assert tc.get("/clients").status_code == 200  # without it, local peers need none


def test_a_local_proxy_that_names_the_client_keeps_it_remote(engine) -> None:
    """A reverse proxy on this machine that sets X-Forwarded-For: its clients need the token,
    over the real server (uvicorn's proxy headers); a remote peer's header is not believed."""
    import httpx

    server = LocalServer(engine, ServerOptions(port=0, token="s3cret"))
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/clients"
        assert httpx.get(url).status_code == 200  # a local program
        proxied = {"x-forwarded-for": "203.0.113.5"}
        assert httpx.get(url, headers=proxied).status_code == 401
        assert httpx.get(url + "?token=s3cret", headers=proxied).status_code == 200
    finally:
        server.stop()


def random_bad_frame(rng: random.Random) -> tuple[str, bytes | str]:
    """A binary or text frame that is never valid: garbage, broken .npy, or JSON that is not
    a known message."""
    kind = rng.randrange(6)
    if kind == 0:
        return "bytes", rng.randbytes(rng.randrange(1, 3000))
    if kind == 1:  # a .npy header with a random dict, payload of the wrong size
        descr = rng.choice(["<f4", "<i2", "|O", "<f8", "x", "<f4"])
        shape = rng.choice(["(10,)", "(2, 5)", "()", "(-1,)", "(99999999999,)", "'a'"])
        header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
        body = header.encode() + rng.randbytes(rng.randrange(0, 30))
        return "bytes", b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body
    if kind == 2:
        depth = rng.randrange(1, 20000)
        return "text", rng.choice(["[", '{"a":']) * depth
    if kind == 3:
        return "text", "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 200)))
    if kind == 4:
        value = rng.choice([1e309, -0.0, "x" * 5000, None, [], {"type": {}}, 10**400])
        return "text", json.dumps({"type": rng.choice(["shout", "", "END", 7]), "v": str(value)})
    return "text", json.dumps(rng.choice([[1, 2], "end", 3, None, {"no": "type"}]))


def test_thousands_of_random_bad_frames_each_get_an_error_and_no_connection_drops(
    engine,
) -> None:
    rng = random.Random(11)
    frames = 0
    with make_client(engine) as tc:
        for c in range(50):
            with open_ws(tc, ws_url(f"fuzz{c}")) as ws:
                assert ws.receive_json()["type"] == "ready"
                for _ in range(200):
                    kind, data = random_bad_frame(rng)
                    if kind == "bytes":
                        ws.send_bytes(data)
                    else:
                        ws.send_text(data)
                    reply = ws.receive_json()
                    assert reply["type"] == "error" and reply["message"], (data[:80], reply)
                    frames += 1
                ws.send_bytes(encode_frame(SECOND, FrameFormat.NPY))
                assert ws.receive_json()["text"] == " w1"  # still served
    assert frames == 10_000 and engine.sessions() == []
