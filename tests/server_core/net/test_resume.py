"""Resume: a client whose connection drops continues its session, losing and repeating nothing.

A real server (LocalServer, real sockets) over the fake engine, whose words are numbered by
the audio they came from: a word lost or shown twice across the drop shows in the text."""

from __future__ import annotations

import io
import json
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server_core.audio.wire import FrameFormat, encode_frame
from server_core.client import main as cli
from server_core.net.server import LocalServer, ServerOptions
from tests.support.fake_engine import FakeEngine
from tests.support.tcp_proxy import CuttableProxy
from tests.support.wav import write_wav

SECOND = np.zeros(16000, dtype=np.float32)


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def serve(engine: FakeEngine, grace: float) -> LocalServer:
    server = LocalServer(engine, ServerOptions(port=0, resume_grace=grace))
    server.start()
    return server


@pytest.fixture
def engine():
    e = FakeEngine(word_seconds=0.5)
    yield e
    e.stop(flush=False)


def client_over_cut_connection(
    engine, grace: float, wav: Path, cut_when=None
) -> tuple[int, str, str, int]:
    """The example client streams ``wav`` through a proxy that cuts the connection once:
    when ``cut_when()`` holds (by default, once the server has over 2 s of audio)."""
    server = serve(engine, grace)
    proxy = CuttableProxy(server.port)
    result: dict = {}

    def run() -> None:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(["--server", proxy.url, "--file", str(wav), "--speed", "3"])
        result["run"] = (code, out.getvalue(), err.getvalue())

    try:
        t = threading.Thread(target=run)
        t.start()
        assert wait_for(
            cut_when or (lambda: engine.sessions() and engine.sessions()[0].received_seconds > 2)
        )
        assert proxy.cut() == 1
        t.join(30)
        assert not t.is_alive()
    finally:
        proxy.close()
        server.stop()
    return (*result["run"], proxy.accepted)


def test_the_example_client_resumes_across_a_cut_connection(engine, tmp_path: Path) -> None:
    code, out, err, connections = client_over_cut_connection(
        engine, 10.0, write_wav(tmp_path / "six.wav", 6.0)
    )
    assert code == 0, err
    assert connections == 2 and "reconnecting" in err
    assert out.split() == [f"w{i}" for i in range(1, 13)] + ["last."]
    assert engine.aborted == []  # one session from start to end


def test_without_resume_the_words_start_over(engine, tmp_path: Path) -> None:
    """The check above can fail: with resume off the second connection is a new session."""
    code, out, err, connections = client_over_cut_connection(
        engine, 0.0, write_wav(tmp_path / "six.wav", 6.0)
    )
    assert code == 0, err
    assert connections == 2
    words = out.split()
    assert words != [f"w{i}" for i in range(1, 13)] + ["last."]
    assert words.count("w1") == 2


def messages_until(ws, kind: str) -> list[dict]:
    got = []
    while True:
        got.append(json.loads(ws.recv(timeout=5)))
        if got[-1]["type"] == kind:
            return got


def dropped(server: LocalServer, cid: str, seconds: float = 2.0) -> tuple[str, list[dict]]:
    """Connect, send ``seconds`` of audio, read its words, vanish without a close."""
    with connect(f"{server.ws_url}?client_id={cid}") as ws:
        ready = json.loads(ws.recv(timeout=5))
        audio = np.zeros(int(seconds * 16000), dtype=np.float32)
        ws.send(encode_frame(audio, FrameFormat.NPY))
        words = [json.loads(ws.recv(timeout=5)) for _ in range(int(seconds / 0.5))]
        ws.socket.shutdown(2)  # no close handshake
    assert wait_for(lambda: server.client_count() == 0)
    return ready["resume_token"], words


def test_resume_replays_what_came_while_away_and_says_what_audio_arrived(engine) -> None:
    server = serve(engine, 10.0)
    try:
        token, words = dropped(server, "phone")
        assert [w["seq"] for w in words] == [1, 2, 3, 4]
        engine.get_session("phone").notice("lag_skip", "while away")
        assert engine.get_session("phone").paused  # no engine time for a client that is away
        with connect(f"{server.ws_url}?client_id=phone&resume={token}&last_seq=2") as ws:
            ready = json.loads(ws.recv(timeout=5))
            assert ready["resumed"] is True and ready["received_samples"] == 32000
            assert not engine.get_session("phone").paused
            assert ready["resume_token"] == token
            again = [json.loads(ws.recv(timeout=5)) for _ in range(3)]
            assert [(m["seq"], m.get("text") or m["code"]) for m in again] == [
                (3, " w3"),
                (4, " w4"),
                (5, "lag_skip"),
            ]
            ws.send(encode_frame(SECOND[:8000], FrameFormat.NPY))
            ws.send('{"type": "end"}')
            tail = messages_until(ws, "done")
        assert [m.get("text") for m in tail[:-1]] == [" w5", " last."]
        assert tail[-2]["seq"] == 7
        assert engine.aborted == []
    finally:
        server.stop()


def test_a_wrong_token_is_refused_and_the_right_one_still_works(engine) -> None:
    server = serve(engine, 10.0)
    try:
        token, _ = dropped(server, "tab")
        with connect(f"{server.ws_url}?client_id=tab&resume=guess") as ws:
            error = json.loads(ws.recv(timeout=5))
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
        assert error["code"] == "bad_resume" and ws.close_code == 1008
        with connect(f"{server.ws_url}?client_id=tab&resume={token}") as ws:
            assert json.loads(ws.recv(timeout=5))["resumed"] is True
            ws.send('{"type": "end"}')
            messages_until(ws, "done")
    finally:
        server.stop()


def test_after_the_grace_period_the_session_ends_and_a_resume_starts_afresh(engine) -> None:
    server = serve(engine, 0.3)
    try:
        token, _ = dropped(server, "late")
        assert wait_for(lambda: "late" in engine.aborted)
        with connect(f"{server.ws_url}?client_id=late&resume={token}&last_seq=4") as ws:
            ready = json.loads(ws.recv(timeout=5))
            notice = json.loads(ws.recv(timeout=5))
            assert ready["resumed"] is False and ready["received_samples"] == 0
            assert notice["type"] == "notice" and notice["code"] == "resume_expired"
            ws.send('{"type": "end"}')
            messages_until(ws, "done")
    finally:
        server.stop()


def test_reconnecting_without_the_token_replaces_the_parked_session(engine) -> None:
    """Clients of the reference protocol know no resume: they reconnect with the same id."""
    server = serve(engine, 10.0)
    try:
        dropped(server, "plain")
        with connect(f"{server.ws_url}?client_id=plain") as ws:
            ready = json.loads(ws.recv(timeout=5))
            assert ready["type"] == "ready" and ready["resumed"] is False
            assert "plain" in engine.aborted
            ws.send(encode_frame(SECOND[:8000], FrameFormat.NPY))
            assert json.loads(ws.recv(timeout=5))["text"] == " w1"
            ws.send('{"type": "end"}')
            messages_until(ws, "done")
    finally:
        server.stop()


def test_a_resume_takes_over_a_connection_that_has_not_noticed_its_end(engine) -> None:
    server = serve(engine, 10.0)
    try:
        with connect(f"{server.ws_url}?client_id=laptop") as old:
            token = json.loads(old.recv(timeout=5))["resume_token"]
            with connect(f"{server.ws_url}?client_id=laptop&resume={token}") as new:
                assert json.loads(new.recv(timeout=5))["resumed"] is True
                with pytest.raises(ConnectionClosed):
                    old.recv(timeout=5)
                assert old.close_code == 1001 and "resumed" in old.close_reason
                new.send(encode_frame(SECOND[:8000], FrameFormat.NPY))
                assert json.loads(new.recv(timeout=5))["text"] == " w1"
                new.send('{"type": "end"}')
                messages_until(new, "done")
        assert engine.aborted == []
    finally:
        server.stop()


def test_a_client_that_sent_nothing_leaves_nothing_parked(engine) -> None:
    server = serve(engine, 30.0)
    try:
        with connect(f"{server.ws_url}?client_id=blank") as ws:
            json.loads(ws.recv(timeout=5))
            ws.socket.shutdown(2)
        assert wait_for(lambda: "blank" in engine.aborted)
        assert engine.sessions() == []
    finally:
        server.stop()


def test_a_new_session_after_a_lost_one_gets_the_audio_after_the_last_text(
    engine, tmp_path: Path
) -> None:
    """A server that cannot resume (here resume is off; in a cluster, the replica died): the
    client sends the audio after its last text again, so the words of the whole file arrive,
    each once, though a part-word of audio had reached the old session when it was cut."""

    def mid_word() -> bool:
        sessions = engine.sessions()
        heard = sessions[0].received_seconds if sessions else 0.0
        return heard > 2 and round(heard % 0.5, 3) not in (0.0, 0.5)

    wav = write_wav(tmp_path / "six.wav", 6.0)
    code, out, err, _ = client_over_cut_connection(engine, 0.0, wav, cut_when=mid_word)
    assert code == 0, err
    words = [w for w in out.split() if w.startswith("w")]
    assert len(words) == 12, out  # 6 s of 0.5 s words: none lost to the cut
