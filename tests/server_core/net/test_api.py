"""Protocol tests of the API app against a fake engine (fast; the real engine is in e2e tests)."""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings

import numpy as np
import pytest

from server_core.audio.wire import FrameFormat, encode_frame
from server_core.net.app import create_app
from server_core.net.options import ApiOptions
from tests.support.fake_engine import FakeEngine

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

LOCAL = ("127.0.0.1", 50000)
REMOTE = ("192.0.2.10", 50000)
SECOND = np.zeros(16000, dtype=np.float32)


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.stop(flush=False)


def make_client(engine, client=LOCAL, **opts) -> TestClient:
    opts.setdefault("allowed_hosts", ("testserver",))  # the name TestClient sends in Host
    return TestClient(create_app(engine, ApiOptions(**opts)), client=client)


def ws_url(client_id: str = "alice", **params: str) -> str:
    q = "&".join(f"{k}={v}" for k, v in {"client_id": client_id, **params}.items())
    return f"/ws/transcription?{q}"


def receive_until(ws, kind: str, limit: int = 50) -> list[dict]:
    got = []
    for _ in range(limit):
        msg = ws.receive_json()
        got.append(msg)
        if msg["type"] == kind:
            return got
    raise AssertionError(f"no {kind!r} in {got}")


def closed_with(ws) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as info:
        for _ in range(20):
            ws.receive_json()
    return info.value.code, info.value.reason


@contextlib.contextmanager
def open_ws(tc: TestClient, url: str, **kwargs):
    """A session that is ended ("end" ... done ... close) before the test client leaves:
    starlette's test client cancels an app still running at exit, which is not what a real
    disconnect does (that is tested against a real server below)."""
    with tc.websocket_connect(url, **kwargs) as ws:
        yield ws
        ws.send_text('{"type": "end"}')
        closed_with(ws)


def refused(ws) -> tuple[dict, int, str]:
    """The error message of a refused connection, then its close code and reason."""
    first = ws.receive_json()
    code, reason = closed_with(ws)
    return first, code, reason


def test_ready_transcript_end_done(engine) -> None:
    engine.device, engine.dtype = "cuda", "float16"  # "ready" says what the engine runs on
    with make_client(engine) as tc, tc.websocket_connect(ws_url("alice", language="de")) as ws:
        ready = ws.receive_json()
        token = ready.pop("resume_token")
        assert isinstance(token, str) and len(token) >= 16
        assert ready == {
            "type": "ready",
            "client_id": "alice",
            "model": "fake",
            "language": "de",
            "sample_rate": 16000,
            "format": "npy",
            "resumed": False,
            "received_samples": 0,
            "seq": 0,
            "device": "cuda",
            "dtype": "float16",
        }
        ws.send_bytes(encode_frame(SECOND, FrameFormat.NPY))
        msg = ws.receive_json()
        assert list(msg)[:4] == ["type", "client_id", "text", "timestamp"]
        assert msg["type"] == "transcript" and msg["text"] == " w1" and msg["final"] is False
        ws.send_bytes(encode_frame(SECOND[:8000], FrameFormat.NPY))
        ws.send_text(json.dumps({"type": "end"}))
        tail = receive_until(ws, "done")
        assert [m["type"] for m in tail] == ["transcript", "done"]
        assert tail[0]["final"] is True and tail[0]["end"] == 1.5
        assert closed_with(ws)[0] == 1000
    assert engine.sessions() == []


@pytest.mark.parametrize("fmt", ["f32", "s16"])
def test_raw_formats(engine, fmt: str) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("b", format=fmt)) as ws:
        assert ws.receive_json()["format"] == fmt
        ws.send_bytes(encode_frame(np.full(16000, 0.1, np.float32), FrameFormat(fmt)))
        assert ws.receive_json()["text"] == " w1"
        chunk = engine.get_session("b").chunks[0]
        assert chunk.dtype == np.float32 and abs(float(chunk[0]) - 0.1) < 1e-4


def npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


BAD_NPY = {
    "pickle_not_allowed": npy(np.array([1.0, None], dtype=object), True),
    "bad_dtype": npy(np.zeros(160, np.float64)),
    "bad_shape": npy(np.zeros((2, 160), np.float32)),
    "non_finite": npy(np.array([0.0, np.nan], np.float32)),
    "empty_frame": b"",
    "frame_too_long": npy(np.zeros(160_500, np.float32)),
}


def test_bad_frames_get_errors_and_the_session_goes_on(engine) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("c")) as ws:
        ws.receive_json()
        for code, data in BAD_NPY.items():
            ws.send_bytes(data)
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["code"] == code, msg
            assert "not accepted" in msg["message"]
        ws.send_text("this is not json")
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_text(json.dumps({"type": "bogus"}))
        assert ws.receive_json()["code"] == "unknown_type"
        ws.send_text("[1, 2]")
        assert ws.receive_json()["code"] == "bad_message"
        ws.send_bytes(encode_frame(SECOND, FrameFormat.NPY))
        assert ws.receive_json()["text"] == " w1"
        assert engine.get_session("c").received == 16000  # nothing bad reached the engine
        ws.send_text('{"type": "end"}')
        receive_until(ws, "done")


def test_s16_odd_byte_count(engine) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("d", format="s16")) as ws:
        ws.receive_json()
        ws.send_bytes(b"\x00\x01\x02")
        assert ws.receive_json()["code"] == "odd_length"


def test_unknown_format_is_refused(engine) -> None:
    with make_client(engine) as tc, tc.websocket_connect(ws_url("e", format="mp3")) as ws:
        assert ws.receive_json()["code"] == "bad_format"
        assert closed_with(ws)[0] == 1003


@pytest.mark.parametrize("cid", ["a b", "x" * 65, "evil\n"])
def test_bad_client_id(engine, cid: str) -> None:
    from urllib.parse import quote

    with make_client(engine) as tc, tc.websocket_connect(ws_url(quote(cid))) as ws:
        assert ws.receive_json()["code"] == "bad_client_id"
        assert closed_with(ws)[0] == 1008


def test_bad_language(engine) -> None:
    with make_client(engine) as tc, tc.websocket_connect(ws_url("f", language="klingon")) as ws:
        assert refused(ws)[0]["code"] == "bad_language"


def test_duplicate_client_id_closes_1008(engine) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("dup")) as first:
        first.receive_json()
        with tc.websocket_connect(ws_url("dup")) as second:
            assert second.receive_json()["code"] == "duplicate_client_id"
            code, reason = closed_with(second)
            assert code == 1008 and "already connected" in reason
        first.send_bytes(encode_frame(SECOND, FrameFormat.NPY))  # the first one is untouched
        assert first.receive_json()["text"] == " w1"


def test_max_clients(engine) -> None:
    with make_client(engine, max_clients=2) as tc:
        with open_ws(tc, ws_url("m1")) as a, open_ws(tc, ws_url("m2")) as b:
            a.receive_json(), b.receive_json()
            with tc.websocket_connect(ws_url("m3")) as c:
                first, code, _ = refused(c)
                assert first["code"] == "too_many_clients" and code == 1013
        with open_ws(tc, ws_url("m3")) as c:  # slots are freed when clients leave
            assert c.receive_json()["type"] == "ready"


def test_idle_timeout_flushes_and_closes(engine) -> None:
    with make_client(engine, idle_timeout=0.3) as tc, tc.websocket_connect(ws_url("idle")) as ws:
        ws.receive_json()
        ws.send_bytes(encode_frame(SECOND[:4000], FrameFormat.NPY))
        msgs = receive_until(ws, "done")
        assert msgs[0]["code"] == "idle_timeout"
        assert msgs[-2]["final"] is True  # the audio it had was flushed, not dropped
        code, reason = closed_with(ws)
        assert code == 1008 and "idle timeout" in reason


def test_disconnect_parks_the_session_then_aborts_it(engine) -> None:
    """A client that vanishes mid-stream (a real server, a real socket): its session waits
    ``resume_grace`` for it to resume, then ends."""
    from websockets.sync.client import connect

    from server_core.net.server import LocalServer, ServerOptions

    server = LocalServer(engine, ServerOptions(port=0, resume_grace=1.0))
    server.start()
    try:
        with connect(f"{server.ws_url}?client_id=gone") as ws:
            json.loads(ws.recv())
            ws.send(encode_frame(SECOND, FrameFormat.NPY))
            json.loads(ws.recv())
            ws.send(encode_frame(SECOND[:800], FrameFormat.NPY))
            ws.socket.shutdown(2)  # no close handshake
        deadline = time.monotonic() + 5
        while server.client_count() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.client_count() == 0
        assert "gone" not in engine.aborted and [s.client_id for s in engine.sessions()] == ["gone"]
        deadline = time.monotonic() + 5
        while "gone" not in engine.aborted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "gone" in engine.aborted and engine.sessions() == []
    finally:
        server.stop()


def test_notice_is_forwarded(engine) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("n")) as ws:
        ws.receive_json()
        engine.get_session("n").notice("lag_skip", "skipped 1.5 s")
        msg = ws.receive_json()
        assert msg["type"] == "notice" and msg["code"] == "lag_skip"
        assert msg["skipped_seconds"] == 1.5


def test_audio_after_end_is_reported(engine) -> None:
    with make_client(engine) as tc, tc.websocket_connect(ws_url("late")) as ws:
        ws.receive_json()
        engine._jobs.put(lambda: time.sleep(0.3))  # keep the flush pending a moment
        ws.send_text('{"type":"end"}')
        ws.send_bytes(encode_frame(SECOND, FrameFormat.NPY))
        msgs = receive_until(ws, "done")
        assert any(m.get("code") == "after_end" for m in msgs)


# ---------------------------------------------------------------- access control


def test_remote_peer_needs_the_token(engine) -> None:
    tc = make_client(engine, client=REMOTE, token="s3cret")
    with tc, tc.websocket_connect(ws_url("r")) as ws:
        assert ws.receive_json()["code"] == "unauthorized"
        assert closed_with(ws)[0] == 1008
    with tc, tc.websocket_connect(ws_url("r", token="wrong")) as ws:
        msg = refused(ws)[0]
        assert msg["code"] == "unauthorized" and "wrong token" in msg["message"]
    with tc, open_ws(tc, ws_url("r", token="s3cret")) as ws:
        assert ws.receive_json()["type"] == "ready"
    with tc:
        assert tc.get("/clients").status_code == 401
        assert tc.get("/clients", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert tc.post("/config?lan=en").status_code == 401
        assert tc.get("/health").status_code == 200


def test_remote_peer_without_server_token_is_refused(engine) -> None:
    tc = make_client(engine, client=REMOTE, token=None)
    with tc, tc.websocket_connect(ws_url("r", token="anything")) as ws:
        assert "local clients only" in refused(ws)[0]["message"]


def test_other_sites_in_a_local_browser_need_the_token(engine) -> None:
    tc = make_client(engine, token="t")
    evil = {"origin": "http://evil.example"}
    with tc:
        assert tc.post("/config?lan=en", headers=evil).status_code == 401
        assert tc.post("/config?lan=en", headers={"origin": "http://testserver"}).status_code == 200
        with tc.websocket_connect(ws_url("o"), headers=evil) as ws:
            assert refused(ws)[0]["code"] == "unauthorized"


# ---------------------------------------------------------------- REST


def test_health_and_clients(engine) -> None:
    with make_client(engine) as tc:
        health = tc.get("/health").json()
        assert health["status"] == "ok" and health["model"] == "fake" and health["clients"] == 0
        assert (health["device"], health["dtype"]) == ("cpu", "float32")
        engine.device, engine.dtype = "cuda:1", "float16"
        assert tc.get("/health").json()["device"] == "cuda:1"
        assert tc.get("/health").json()["dtype"] == "float16"
        with open_ws(tc, ws_url("k")) as ws:
            ws.receive_json()
            ws.send_bytes(encode_frame(SECOND[:8000], FrameFormat.NPY))
            time.sleep(0.1)
            (info,) = tc.get("/clients").json()["clients"]
            assert info["client_id"] == "k" and info["peer"] == "127.0.0.1"
            assert info["lag"] == 0.5 and info["state"] == "speech"
            assert tc.get("/health").json()["clients"] == 1
        assert tc.get("/clients").json() == {"clients": []}


def test_config_by_json_and_by_query(engine) -> None:
    with make_client(engine) as tc:
        r = tc.post("/config", json={"model": "base", "language": "German"})
        assert r.status_code == 200 and r.json() == {
            "status": "ok",
            "model": "base",
            "language": "de",
        }
        r = tc.post("/config?lan=en&model=tiny.en")
        assert r.status_code == 200 and r.json()["language"] == "en"
        assert engine.reconfigured == [("base", "de"), ("tiny.en", "en")]
        assert tc.post("/config?lan=xx").status_code == 400
        assert tc.post("/config").status_code == 400
        assert tc.post("/config", content=b"{not json").status_code == 400
        r = tc.post("/config", json={"model": "missing-model"})
        assert r.status_code == 400 and "missing-model" in r.json()["message"]
        assert engine.model_name == "tiny.en"


def test_config_keeps_sessions(engine) -> None:
    with make_client(engine) as tc, open_ws(tc, ws_url("stay")) as ws:
        ws.receive_json()
        assert tc.post("/config", json={"language": "fr"}).status_code == 200
        ws.send_bytes(encode_frame(SECOND, FrameFormat.NPY))
        assert ws.receive_json()["text"] == " w1"


def test_web_page(engine) -> None:
    with make_client(engine) as tc:
        r = tc.get("/")
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert "ws/transcription" in tc.get("/web/app.js").text
