"""The caption feed (/ws/captions) over the fake engine: every source reaches a viewer, the
token rules of /ws/transcription apply, a late viewer gets a backlog, and a slow viewer holds
up neither the engine nor anyone else. Also GET /languages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from server_core.events import TranscriptEvent
from server_core.languages import languages
from server_core.net.captions import CaptionFeed, Viewer
from tests.server_core.net.test_api import REMOTE, SECOND, TestClient, make_client
from tests.support.fake_engine import FakeEngine


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.stop(flush=False)


@contextlib.contextmanager
def watch(tc: TestClient, url: str = "/ws/captions", **kwargs):
    """A viewer that is gone from the feed before the test client leaves (starlette's test
    client cancels an app still running at exit, which a real disconnect does not)."""
    feed = tc.app.state.hub.captions
    with tc.websocket_connect(url, **kwargs) as ws:
        yield ws
        ws.close()
        deadline = time.monotonic() + 5
        while feed.viewer_count and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)


def until(ws, predicate, limit: int = 100) -> list[dict]:
    """Messages up to and including the first one ``predicate`` accepts."""
    got = []
    for _ in range(limit):
        msg = ws.receive_json()
        got.append(msg)
        if predicate(msg):
            return got
    raise AssertionError(f"not found in {got}")


def left(client_id: str):
    return lambda m: m["type"] == "source" and m["event"] == "left" and m["client_id"] == client_id


def speak(tc: TestClient, client_id: str, seconds: int) -> None:
    """A WebSocket client: ``seconds`` of audio (one word a second), end, done."""
    with tc.websocket_connect(f"/ws/transcription?client_id={client_id}&format=f32") as ws:
        assert ws.receive_json()["type"] == "ready"
        for _ in range(seconds):
            ws.send_bytes(SECOND.tobytes())
        ws.send_text('{"type": "end"}')
        until(ws, lambda m: m["type"] == "done")


def refusal(ws) -> tuple[dict, int]:
    first = ws.receive_json()
    with pytest.raises(WebSocketDisconnect) as info:
        for _ in range(5):
            ws.receive_json()
    return first, info.value.code


def test_viewer_sees_every_source_websocket_and_in_process(engine):
    tc = make_client(engine)
    with watch(tc) as viewer:
        ready = viewer.receive_json()
        assert ready["type"] == "ready" and ready["feed"] == "captions"
        assert ready["sources"] == [] and ready["backlog"] == 0
        viewer.send_text('["not", "an object"]')  # ignored; the viewer stays
        viewer.send_text('{"type": "ping"}')
        assert viewer.receive_json()["type"] == "pong"
        speak(tc, "alice", 2)
        got = until(viewer, left("alice"))
        # an in-process session, as the desktop's own microphone opens it (no WebSocket)
        local = engine.open_session("user", lambda e: None, meta={"transport": "in-process"})
        local.push(SECOND)
        local.end()
        got += until(viewer, left("user"))
    joined = [(m["client_id"], m["transport"]) for m in got if m.get("event") == "joined"]
    assert joined == [("alice", "websocket"), ("user", "in-process")]
    texts = [(m["client_id"], m["text"], m["final"]) for m in got if m["type"] == "transcript"]
    assert texts == [
        ("alice", " w1", False),
        ("alice", " w2", False),
        ("alice", " last.", True),
        ("user", " w1", False),
        ("user", " last.", True),
    ]


def test_late_viewer_gets_the_backlog_then_live_text(engine):
    tc = make_client(engine, caption_backlog=2)
    for i in range(3):  # three utterances; only the last two are kept
        speak(tc, f"c{i}", 1)
    open_now = engine.open_session("system", lambda e: None)
    open_now.push(SECOND * 0)
    open_now.push(SECOND)
    deadline = time.monotonic() + 5
    while open_now.emitted_words < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # the observer runs right after the listener on the engine's thread
    with watch(tc) as viewer:
        ready = viewer.receive_json()
        assert ready["sources"] == [{"client_id": "system", "transport": "in-process"}]
        assert ready["backlog"] == 3
        backlog = [viewer.receive_json() for _ in range(3)]
        open_now.end()
        live = until(viewer, left("system"))
    assert [(m["client_id"], m["text"], m["final"], m["backlog"]) for m in backlog] == [
        ("c1", "w1 last.", True, True),
        ("c2", "w1 last.", True, True),
        ("system", "w1 w2", False, True),  # the open utterance, to be continued
    ]
    assert [m["text"] for m in live if m["type"] == "transcript"] == [" last."]
    assert all("backlog" not in m for m in live)


def test_token_rules_are_those_of_the_transcription_endpoint(engine):
    remote = make_client(engine, client=REMOTE, token="s3cret")
    with remote.websocket_connect("/ws/captions") as ws:
        first, code = refusal(ws)
    assert (first["code"], code) == ("unauthorized", 1008)
    assert "token" in first["message"]
    with remote.websocket_connect("/ws/captions?token=wrong") as ws:
        first, code = refusal(ws)
    assert (first["message"], code) == ("wrong token", 1008)
    with watch(remote, "/ws/captions?token=s3cret") as ws:
        assert ws.receive_json()["type"] == "ready"
    with watch(remote, headers={"Authorization": "Bearer s3cret"}) as ws:
        assert ws.receive_json()["type"] == "ready"
    # loopback is free, but not for another site's page in a local browser ...
    local = make_client(engine, token="s3cret")
    with watch(local) as ws:
        assert ws.receive_json()["type"] == "ready"
    with local.websocket_connect("/ws/captions", headers={"Origin": "http://evil.example"}) as ws:
        first, code = refusal(ws)
    assert (first["code"], code) == ("unauthorized", 1008)
    # ... nor behind a local proxy (--require-token)
    proxied = make_client(engine, token="s3cret", require_token=True)
    with proxied.websocket_connect("/ws/captions") as ws:
        assert refusal(ws)[1] == 1008
    # and the Host check refuses a name that is not this machine's (DNS rebinding)
    with pytest.raises(WebSocketDisconnect) as info:
        with local.websocket_connect("/ws/captions", headers={"Host": "evil.example"}) as ws:
            ws.receive_json()
    assert info.value.code == 1008


def test_viewers_are_capped_apart_from_clients(engine):
    tc = make_client(engine, max_viewers=1, max_clients=1)
    with watch(tc) as first:
        assert first.receive_json()["type"] == "ready"
        with tc.websocket_connect("/ws/captions") as second:
            message, code = refusal(second)
        assert (message["code"], code) == ("too_many_viewers", 1013)
        speak(tc, "alice", 1)  # a viewer takes no client slot
        assert until(first, left("alice"))


def test_a_viewer_that_does_not_read_is_bounded_and_told_what_it_missed():
    """The observer returns at once however far behind a viewer is: its queue keeps the
    newest ``limit`` messages, and the viewer learns how many it lost."""

    async def scenario() -> tuple[float, list[dict], int]:
        feed = CaptionFeed()
        viewer = Viewer(asyncio.get_running_loop(), limit=10)
        feed.join(viewer)

        def engine_thread() -> None:
            for i in range(1000):
                feed.observe(TranscriptEvent("alice", f" w{i}", i, i + 1, False))

        t0 = time.monotonic()
        thread = threading.Thread(target=engine_thread)
        thread.start()
        thread.join()
        took = time.monotonic() - t0
        await asyncio.sleep(0.05)  # the loop runs the handed-over puts
        got = [await viewer.next() for _ in range(11)]
        return took, got, len(viewer.items)

    took, got, left_over = asyncio.run(scenario())
    assert took < 2.0
    assert got[0]["code"] == "viewer_behind" and got[0]["dropped"] == 990
    assert [m["text"] for m in got[1:]] == [f" w{i}" for i in range(990, 1000)]
    assert left_over == 0


def _stalled_viewer(port: int) -> socket.socket:
    """A viewer that completes the handshake and then never reads (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        b"GET /ws/captions HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    assert b" 101 " in sock.recv(256)
    return sock


def test_a_stalled_viewer_on_a_real_socket_stalls_neither_engine_nor_others():
    """A real server; one viewer stops reading. A session says 60 000 words (megabytes of
    captions, more than the sockets buffer): the engine still finishes, a reading viewer
    gets the last word, and the stalled one is told it fell behind once it reads again."""
    from websockets.sync.client import connect

    from server_core.net.server import LocalServer, ServerOptions

    engine = FakeEngine(word_seconds=0.001)
    server = LocalServer(engine, ServerOptions(port=0))
    server.start()
    stalled = None
    try:
        stalled = _stalled_viewer(server.port)
        with connect(f"ws://127.0.0.1:{server.port}/ws/captions", max_size=None) as reader:
            assert json.loads(reader.recv(timeout=5))["type"] == "ready"
            session = engine.open_session("talker", lambda e: None)
            session.push(np.zeros(60 * 16000, dtype=np.float32))
            session.end()
            assert session.wait_closed(30), "the engine was held up"
            last = None
            deadline = time.monotonic() + 60
            while last != "left" and time.monotonic() < deadline:
                msg = json.loads(reader.recv(timeout=30))
                last = msg.get("event")
                if msg["type"] == "transcript" and msg["final"]:
                    final = msg
        assert final["text"] == " last." and final["start"] == pytest.approx(60.0)
        # The stalled viewer now reads: somewhere in its stream is a viewer_behind notice.
        stalled.settimeout(10)
        data = b""
        with contextlib.suppress(TimeoutError, socket.timeout):
            while b"viewer_behind" not in data:
                chunk = stalled.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        assert b"viewer_behind" in data
    finally:
        if stalled is not None:
            stalled.close()
        server.stop()
        engine.stop(flush=False)


def test_languages_come_from_whispers_table_auto_first(engine):
    tc = make_client(engine)
    body = tc.get("/languages").json()
    assert body["default"] == "en"
    codes = [item["code"] for item in body["languages"]]
    assert codes[0] == "auto"
    assert sorted(codes[1:]) == sorted(languages())
    names = {item["code"]: item["name"] for item in body["languages"]}
    assert names["de"] == "German" and names["en"] == "English"


def test_a_server_stops_at_once_with_a_viewer_connected():
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from server_core.net.server import LocalServer, ServerOptions

    engine = FakeEngine()
    server = LocalServer(engine, ServerOptions(port=0))
    server.start()
    try:
        with connect(f"ws://127.0.0.1:{server.port}/ws/captions") as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "ready"
            t0 = time.monotonic()
            server.stop()
            assert time.monotonic() - t0 < 3.0  # a viewer never ends on its own: not waited for
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code in (1001, 1012)
    finally:
        server.stop()
        engine.stop(flush=False)


def test_a_failing_observer_costs_neither_the_session_nor_other_observers(engine):
    heard: list = []
    mine: list = []

    def broken(event) -> None:
        raise RuntimeError("observer bug")

    engine.add_observer(broken)
    remove = engine.add_observer(heard.append)
    session = engine.open_session("alice", mine.append)
    session.push(SECOND)
    session.end()
    assert session.wait_closed(5)
    assert [type(e).__name__ for e in mine] == ["TranscriptEvent"] * 2 + ["ClosedEvent"]
    assert [type(e).__name__ for e in heard] == ["OpenedEvent", *[type(e).__name__ for e in mine]]
    remove()
    again = engine.open_session("bob", lambda e: None)
    again.end()
    assert again.wait_closed(5)
    assert all(e.client_id == "alice" for e in heard)  # removed: bob was not heard


def test_final_text_reaches_viewers_and_revises_the_backlog():
    from server_core.events import OpenedEvent, UtteranceEvent

    feed = CaptionFeed()
    loop = asyncio.new_event_loop()
    try:
        watching = Viewer(loop)
        feed.join(watching)
        feed.observe(OpenedEvent("phone", "websocket"))
        feed.observe(TranscriptEvent("phone", " two hundred", 1.0, 1.5, False))
        feed.observe(TranscriptEvent("phone", " 89.", 1.5, 2.0, True))
        feed.observe(TranscriptEvent("phone", " Then more.", 2.0, 3.0, True))
        feed.observe(UtteranceEvent("phone", "289.", 1.0, 2.0))
        loop.run_until_complete(asyncio.sleep(0))  # deliver what was offered
        kinds = [m["type"] for m in watching.items]
        assert kinds == ["source", "transcript", "transcript", "transcript", "utterance"]
        assert watching.items[-1]["text"] == "289." and watching.items[-1]["start"] == 1.0
        _, backlog = feed.join(Viewer(loop))
        assert [m["text"] for m in backlog] == ["289.", "Then more."]
    finally:
        loop.close()
