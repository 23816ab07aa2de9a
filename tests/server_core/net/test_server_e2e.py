"""The real server (subprocess, tiny.en, 127.0.0.1) against real speech — issue 3 "must show"."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from server_core.audio.files import read_wav
from server_core.audio.wire import FrameFormat, encode_frame
from server_core.config import SAMPLE_RATE
from server_core.wer import wer
from tests.support import ROOT
from tests.support.server_helpers import ServerProcess, StreamResult, endpoint, run, stream_audio

pytestmark = [pytest.mark.e2e, pytest.mark.model]

MAX_CLIENTS = 5
IDLE_TIMEOUT = 6.0
RESUME_GRACE = 0.0  # careless clients here are not resumed (resume: test_resume.py)
PROTOCOL_WER_FLOOR = 0.10
THREE_CLIPS = ("fleurs_en_002", "ls_1089_134686_0000", "ls_2412_153948_0000")


def reference_text(speech_dir: Path, name: str) -> str:
    return (speech_dir / f"{name}.txt").read_text().strip()


@pytest.fixture(scope="module")
def server():
    srv = ServerProcess(
        "--model",
        "tiny.en",
        "--language",
        "en",
        "--port",
        "0",
        "--max-clients",
        str(MAX_CLIENTS),
        "--idle-timeout",
        str(IDLE_TIMEOUT),
        "--resume-grace",
        str(RESUME_GRACE),
    ).wait_listening()
    yield srv
    code = srv.stop(signal.SIGINT)
    assert code == 0, srv.output()


@pytest.fixture(scope="module")
def offline(speech_dir):
    """Offline `whisper.transcribe` WER per clip, same model (tiny.en), computed once."""
    import whisper

    from server_core.models import load_model

    model = load_model("tiny.en")
    cache: dict[str, float] = {}

    def get(name: str) -> float:
        if name not in cache:
            audio = read_wav(speech_dir / f"{name}.wav")
            text = whisper.transcribe(model, audio, language="en", fp16=False)["text"]
            cache[name] = wer(reference_text(speech_dir, name), text)
        return cache[name]

    return get


def check_wer(
    speech_dir: Path, offline, name: str, result: StreamResult, floor: float = 0.0
) -> float:
    """The issue's bound: streaming WER <= 1.25 x offline WER (+0.01 for rounding).

    ``floor`` relaxes it for the tests whose point is the protocol, not the accuracy: a clip
    that offline gets word-perfect may lose a word to streaming (the engine tests use 0.10).
    """
    streamed = wer(reference_text(speech_dir, name), result.text)
    bound = max(1.25 * offline(name) + 0.01, floor)
    print(f"{name}: streaming WER {streamed:.3f}, offline WER {offline(name):.3f}: {result.text!r}")
    assert streamed <= bound, (name, streamed, offline(name), result.text)
    return streamed


# --------------------------------------------------------------------------- transcription


def test_three_clients_stream_real_time_through_one_server(server, speech_dir, offline):
    for name in THREE_CLIPS:
        offline(name)  # before streaming, so the CPU is the server's while it runs
    clips = {name: read_wav(speech_dir / f"{name}.wav") for name in THREE_CLIPS}

    async def all_three() -> list[StreamResult]:
        return await asyncio.gather(
            *(
                stream_audio(endpoint(server.ws_url, f"c{i}"), f"c{i}", audio)
                for i, audio in enumerate(clips.values())
            )
        )

    t0 = time.monotonic()
    results = run(all_three())
    print(
        f"three clips of {max(a.size for a in clips.values()) / SAMPLE_RATE:.1f} s "
        f"streamed in {time.monotonic() - t0:.1f} s"
    )
    for name, result in zip(clips, results, strict=True):
        assert result.types[0] == "ready" and result.types[-1] == "done", result.types
        assert result.close_code == 1000
        assert {m["client_id"] for m in result.transcripts} == {result.client_id}
        check_wer(speech_dir, offline, name, result)


def test_reference_format_client(server, speech_dir, offline):
    """What a client of the reference system does: npy float32, 100 ms frames, and it reads
    only type/client_id/text/timestamp. It never sends "end": trailing silence closes the
    utterance, then it just disconnects."""
    from websockets.asyncio.client import connect

    name = "jfk_inaugural"
    audio = np.concatenate([read_wav(speech_dir / f"{name}.wav"), np.zeros(SAMPLE_RATE * 3)])
    audio = audio.astype(np.float32)
    texts: list[str] = []

    async def reference_client() -> None:
        url = f"{server.ws_url}?client_id=ref"  # no format: npy is the default
        async with connect(url) as ws:

            async def send() -> None:
                t0 = time.monotonic()
                for i in range(0, audio.size, 1600):
                    await asyncio.sleep(max(0.0, t0 + i / SAMPLE_RATE - time.monotonic()))
                    buf = io.BytesIO()
                    np.save(buf, audio[i : i + 1600])
                    await ws.send(buf.getvalue())

            sender = asyncio.create_task(send())
            deadline = time.monotonic() + audio.size / SAMPLE_RATE + 20
            while time.monotonic() < deadline:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1.0)
                except asyncio.TimeoutError:
                    if sender.done() and texts:
                        break
                    continue
                data = json.loads(raw)
                if data["type"] != "transcript":
                    continue
                msg = {k: data[k] for k in ("type", "client_id", "text", "timestamp")}
                assert msg["client_id"] == "ref" and isinstance(msg["timestamp"], float)
                texts.append(msg["text"])
            await sender

    run(reference_client())
    result = StreamResult("ref", [{"type": "transcript", "text": t} for t in texts])
    check_wer(speech_dir, offline, name, result, floor=PROTOCOL_WER_FLOOR)
    assert server.wait_no_clients() == []


def test_end_returns_every_word_then_done(server, speech_dir, offline):
    name = "fleurs_en_001"
    audio = read_wav(speech_dir / f"{name}.wav")
    result = run(
        stream_audio(
            endpoint(server.ws_url, "ender", format="f32"), "ender", audio, fmt=FrameFormat.F32
        )
    )
    assert result.types[0] == "ready" and result.types[-1] == "done", result.types
    assert result.transcripts[-1]["final"] is True
    assert result.transcripts[-1]["end"] <= audio.size / SAMPLE_RATE + 0.05
    assert result.close_code == 1000
    check_wer(speech_dir, offline, name, result)
    from server_core.wer import normalize

    last_words = normalize(reference_text(speech_dir, name))[-2:]
    assert normalize(result.text)[-2:] == last_words, result.text


def test_client_cli_file_prints_the_clip(server, speech_dir, offline):
    name = "ls_1089_134691_0001"
    script = Path(sys.executable).parent / "whisper-desktop-client"
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "server_core.client"]
    proc = subprocess.run(
        [
            *cmd,
            "--server",
            server.ws_url.rsplit("/ws/", 1)[0],
            "--file",
            str(speech_dir / f"{name}.wav"),
            "--format",
            "s16",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stdout  # plain when piped
    result = StreamResult("file", [{"type": "transcript", "text": proc.stdout}])
    check_wer(speech_dir, offline, name, result)


# --------------------------------------------------------------------------- bad input


def npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


BAD_FRAMES = {
    "pickle_not_allowed": npy(np.array([0.5, {"x": 1}], dtype=object), allow_pickle=True),
    "bad_dtype": npy(np.zeros(1600, np.float64)),
    "bad_shape": npy(np.zeros((2, 800), np.float32)),
    "non_finite": npy(np.array([0.0, np.inf, np.nan], np.float32)),
    "empty_frame": b"",
    "frame_too_long": npy(np.zeros(10 * SAMPLE_RATE + 100, np.float32)),
}
BAD_FRAMES_EXTRA = {  # same codes, other shapes of the same mistakes
    "pickle_not_allowed": pickle.dumps([1.0, 2.0]),
    "bad_dtype": npy(np.zeros(1600, np.int16)),
    "non_finite": npy(np.array([np.nan], np.float32)),
}


async def _expect_refusal(url: str) -> tuple[dict, int, str]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(url) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return first, ws.close_code, ws.close_reason


async def _bad_input_sequence(server: ServerProcess) -> dict[str, object]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    seen: dict[str, object] = {}
    async with connect(endpoint(server.ws_url, "bad")) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        for frames in (BAD_FRAMES, BAD_FRAMES_EXTRA):
            for code, data in frames.items():
                await ws.send(data)
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert msg["type"] == "error" and msg["code"] == code, (code, msg)
                seen[code] = msg["message"]
        for text, code in (("garbage {", "bad_json"), ('{"type": "shout"}', "unknown_type")):
            await ws.send(text)
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert msg["type"] == "error" and msg["code"] == code, msg
            seen[code] = msg["message"]
        # still open and working after all that
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "pong"

    async with connect(endpoint(server.ws_url, "odd", format="s16")) as ws:
        await ws.recv()
        await ws.send(b"\x00\x01\x02")
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert msg["code"] == "odd_length", msg
        seen["odd_length"] = msg["message"]

    async with connect(endpoint(server.ws_url, "huge", format="f32"), max_size=None) as ws:
        await ws.recv()
        with pytest.raises(ConnectionClosed):
            await ws.send(b"\x00" * (50 * 1024 * 1024))
            await asyncio.wait_for(ws.recv(), 20)
        assert ws.close_code == 1009, (ws.close_code, ws.close_reason)
        seen["50MB"] = f"{ws.close_code} {ws.close_reason}"

    first, code, reason = await _expect_refusal(endpoint(server.ws_url, "bystander"))
    assert first["code"] == "duplicate_client_id" and code == 1008, (first, code)
    seen["duplicate"] = f"{code} {reason}"

    # fill the server up to --max-clients (the bystander holds one slot), then one more
    extra = [
        await connect(endpoint(server.ws_url, f"fill{i}")).__aenter__()
        for i in range(MAX_CLIENTS - 1)
    ]
    for ws in extra:
        assert json.loads(await ws.recv())["type"] == "ready"
    first, code, reason = await _expect_refusal(endpoint(server.ws_url, "one-too-many"))
    assert first["code"] == "too_many_clients" and code == 1013, (first, code)
    seen["max_clients"] = f"{code} {reason}"
    for ws in extra:
        await ws.close()

    async with connect(endpoint(server.ws_url, "sleepy")) as ws:
        await ws.recv()
        t0 = time.monotonic()
        msgs = []
        with pytest.raises(ConnectionClosed):
            while True:
                msgs.append(json.loads(await asyncio.wait_for(ws.recv(), IDLE_TIMEOUT + 10)))
        waited = time.monotonic() - t0
        assert msgs[0]["code"] == "idle_timeout" and msgs[-1]["type"] == "done", msgs
        assert ws.close_code == 1008 and "idle" in ws.close_reason
        assert IDLE_TIMEOUT - 0.5 < waited < IDLE_TIMEOUT + 5
        seen["idle"] = f"{ws.close_code} {ws.close_reason}"
    return seen


def test_bad_input_list_leaves_server_clean(server, speech_dir, offline):
    name = "fleurs_en_000"
    offline(name), offline("jfk_inaugural")
    bystander_audio = read_wav(speech_dir / f"{name}.wav")

    async def both():
        return await asyncio.gather(
            stream_audio(endpoint(server.ws_url, "bystander"), "bystander", bystander_audio),
            _bad_input_sequence(server),
        )

    bystander, seen = run(both())
    for what, message in seen.items():
        print(f"{what}: {message}")
    # the bystander streamed through all of it untouched
    assert bystander.types[-1] == "done" and "error" not in bystander.types
    check_wer(speech_dir, offline, name, bystander)
    assert server.wait_no_clients() == []
    assert server.get("/health")["clients"] == 0
    fresh = run(
        stream_audio(
            endpoint(server.ws_url, "fresh"),
            "fresh",
            read_wav(speech_dir / "jfk_inaugural.wav"),
            speed=1.5,
        )
    )
    check_wer(speech_dir, offline, "jfk_inaugural", fresh, floor=PROTOCOL_WER_FLOOR)


# --------------------------------------------------------------------------- churn


async def _mid_inference(server: ServerProcess, client_id: str, timeout: float = 5.0) -> bool:
    """Wait until the engine holds undecoded speech of ``client_id`` (it is decoding it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info in await asyncio.to_thread(server.clients):
            if info["client_id"] == client_id and info["state"] == "speech" and info["lag"] > 0:
                return True
        await asyncio.sleep(0.03)
    return False


async def _cycle(server: ServerProcess, i: int, speech: np.ndarray, mid_inference: bool) -> bool:
    """One connect/disconnect; True if it really dropped while the engine was decoding."""
    from websockets.asyncio.client import connect

    cid = f"churn{i}"
    ws = await connect(endpoint(server.ws_url, cid))
    assert json.loads(await ws.recv())["type"] == "ready"
    if not mid_inference:
        await ws.send(encode_frame(speech[:4800], FrameFormat.NPY))
        await ws.close()
        return False
    for k in range(0, speech.size, 1600):  # 3 s of speech at once: the engine gets busy
        await ws.send(encode_frame(speech[k : k + 1600], FrameFormat.NPY))
    busy = await _mid_inference(server, cid)
    await asyncio.sleep(random.random() * 0.3)
    ws.transport.abort()  # vanish without a close handshake while decoding goes on
    return busy


def test_connect_disconnect_cycles_leave_nothing_behind(server, speech_dir):
    speech = read_wav(speech_dir / "ls_1089_134686_0000.wav")[: 3 * SAMPLE_RATE]
    random.seed(3)

    async def cycles(start: int, count: int) -> int:
        busy = 0
        for i in range(start, start + count):
            busy += await _cycle(server, i, speech, mid_inference=i % 2 == 0)
        return busy

    run(cycles(0, 20))  # warm-up: allocator pools and caches reach their working size
    assert server.wait_no_clients() == []
    time.sleep(3)
    rss_before = server.rss_kib()
    t0 = time.monotonic()
    busy_drops = run(cycles(1000, 100))
    elapsed = time.monotonic() - t0
    left = server.wait_no_clients()
    time.sleep(3)  # the server trims freed memory 2 s after the last client left
    rss_after = server.rss_kib()
    change = rss_after / rss_before - 1
    print(
        f"100 cycles in {elapsed:.0f} s, {busy_drops} of 50 dropped while the engine was "
        f"decoding them; server RSS {rss_before / 1024:.1f} MiB -> {rss_after / 1024:.1f} MiB "
        f"({change:+.1%})"
    )
    assert left == []
    assert server.get("/health")["clients"] == 0
    assert busy_drops >= 40
    assert abs(change) <= 0.10


# --------------------------------------------------------------------------- own servers


_NETNS_CLIENT = r"""
import asyncio, json, sys, urllib.request, urllib.error
from websockets.asyncio.client import connect
url, http = sys.argv[1], sys.argv[2]
async def main():
    out = {}
    try:
        async with connect(url) as ws:
            out["first"] = json.loads(await ws.recv())
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            except Exception:
                pass
            out["close"] = [ws.close_code, ws.close_reason]
    except Exception as e:
        out["exception"] = repr(e)
    try:
        with urllib.request.urlopen(http, timeout=5) as r:
            out["clients_status"] = r.status
    except urllib.error.HTTPError as e:
        out["clients_status"] = e.code
    print(json.dumps(out))
asyncio.run(main())
"""


def test_non_loopback_peer_needs_the_token(netns, speech_dir):
    ns, host_ip = netns
    srv = ServerProcess(
        "--model", "tiny.en", "--language", "en", "--host", "0.0.0.0", "--port", "0", "--no-tls"
    ).wait_listening()
    try:
        assert srv.ws_url.startswith("ws://") and srv.certfile is None  # --no-tls: plain
        assert any("plain http/ws" in line for line in srv.stderr), srv.output()  # warned
        token_lines = [line for line in srv.stdout if "Token" in line]
        assert len(token_lines) == 1, srv.stdout  # generated and printed once
        token = re.search(r"\(shown once\): ([\w-]+)", token_lines[0]).group(1)
        assert sum(token in line for line in srv.stdout) == 1
        base = f"ws://{host_ip}:{srv.port}/ws/transcription"

        def from_netns(query: str) -> dict:
            url = f"{base}?client_id=remote{query}"
            http = f"http://{host_ip}:{srv.port}/clients?x=1{query}"
            proc = subprocess.run(
                ["ip", "netns", "exec", ns, sys.executable, "-c", _NETNS_CLIENT, url, http],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert proc.returncode == 0, proc.stderr
            return json.loads(proc.stdout)

        missing = from_netns("")
        print("no token:", missing)
        assert missing["first"]["code"] == "unauthorized"
        assert missing["close"][0] == 1008 and missing["clients_status"] == 401
        wrong = from_netns("&token=nope")
        print("wrong token:", wrong)
        assert wrong["first"]["code"] == "unauthorized" and "wrong token" in wrong["close"][1]
        assert wrong["clients_status"] == 401
        right = from_netns(f"&token={token}")
        print("right token:", right)
        assert right["first"]["type"] == "ready" and right["clients_status"] == 200
        # on the same server, a loopback client needs no token
        local = run(
            stream_audio(
                f"ws://127.0.0.1:{srv.port}/ws/transcription?client_id=me",
                "me",
                read_wav(speech_dir / "ls_1089_134691_0000.wav"),
                speed=2.0,
            )
        )
        assert local.types[0] == "ready" and local.types[-1] == "done" and local.text
    finally:
        assert srv.stop(signal.SIGTERM) == 0, srv.output()


def test_server_only_never_imports_qt_and_flushes_on_sigterm(speech_dir):
    srv = ServerProcess(
        "--model", "tiny.en", "--language", "en", "--port", "0", python_flags=("-X", "importtime")
    ).wait_listening()
    audio = read_wav(speech_dir / "ls_2412_153948_0000.wav")

    async def stream_then_sigterm() -> StreamResult:
        task = asyncio.create_task(
            stream_audio(endpoint(srv.ws_url, "mid"), "mid", audio, send_end=False)
        )
        await asyncio.sleep(6.0)  # about half the clip
        srv.proc.send_signal(signal.SIGTERM)
        return await task

    try:
        result = run(stream_then_sigterm())
        code = srv.proc.wait(60)  # one signal only: a second one means "quit now"
    finally:
        srv.stop(signal.SIGKILL)
    print("flushed on SIGTERM:", result.text, result.types[-3:], result.close_code)
    assert code == 0, srv.output()
    assert result.types[-1] == "done" and result.transcripts and result.transcripts[-1]["final"]
    assert result.close_code == 1001
    assert len(result.text.split()) >= 8  # the first half of the clip came back
    imported = [line.rsplit("|", 1)[-1].strip() for line in srv.stderr if "import time:" in line]
    assert "server_core.net.app" in imported and "uvicorn" in imported  # the check sees imports
    qt = [m for m in imported if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6")]
    assert qt == [], qt
    assert not any(
        m.startswith("whisper_desktop.") and m != "whisper_desktop.main" for m in imported
    )
    assert any("flushing" in line for line in srv.stdout) and "Stopped." in srv.stdout


def test_health_reports_the_model(server):
    health = server.get("/health")
    assert health["status"] == "ok" and health["model"] == "tiny.en" and health["language"] == "en"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(
            urllib.request.Request(server.http_url + "/config?lan=xx", method="POST"), timeout=10
        )
    assert info.value.code == 400


def _post_config(server: ServerProcess, query: str = "", body: dict | None = None) -> tuple:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        server.http_url + "/config" + query,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json"} if body is not None else {},
    )
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_config_switches_model_without_dropping_the_session(server, speech_dir):
    """POST /config mid-stream: the session goes on, the client is told, text keeps coming."""
    status, reply = _post_config(server, body={"model": "/no/such/model.pt"})
    assert status == 400 and "/no/such/model.pt" in reply["message"], reply
    assert server.get("/health")["model"] == "tiny.en"

    name = "ls_2412_153948_0000"
    audio = read_wav(speech_dir / f"{name}.wav")

    async def stream_and_switch():
        task = asyncio.create_task(
            stream_audio(endpoint(server.ws_url, "switcher"), "switcher", audio)
        )
        await asyncio.sleep(4.0)
        switched = await asyncio.to_thread(_post_config, server, "", {"model": "base"})
        return await task, switched

    result, (status, reply) = run(stream_and_switch())
    print(f"switch to base: {status} {reply}; text: {result.text}")
    assert status == 200 and reply["model"] == "base" and reply["language"] == "en"
    assert server.get("/health")["model"] == "base"
    notices = [m for m in result.messages if m["type"] == "notice"]
    assert any(n["code"] == "config_changed" for n in notices), result.messages
    assert result.types[-1] == "done" and "error" not in result.types
    score = wer(reference_text(speech_dir, name), result.text)
    print(f"{name} across the switch tiny.en -> base: WER {score:.3f}")
    assert score <= 0.25
    status, reply = _post_config(server, "?model=tiny.en&lan=en")  # the reference's form
    assert status == 200 and reply["model"] == "tiny.en"
