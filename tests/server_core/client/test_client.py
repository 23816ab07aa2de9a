"""`whisper-desktop-client`: URLs, output, WAV streaming, refusals and reconnecting.

These run the client against the real server code (LocalServer + API) over a fake engine; the
client against the real engine and real weights is in test_server_e2e.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from server_core.audio.wire import FrameFormat
from server_core.client import feeds, printer
from server_core.client import main as cli
from server_core.client.stream import ws_url
from server_core.net.server import LocalServer, ServerOptions
from tests.support import run_python
from tests.support.fake_engine import FakeEngine
from tests.support.wav import write_wav


def test_ws_url_forms() -> None:
    u = ws_url("127.0.0.1:9000", "me")
    assert u == "ws://127.0.0.1:9000/ws/transcription?client_id=me"
    u = ws_url("http://host:1/", "a b", FrameFormat.S16, token="t/k", language="de")
    assert u == "ws://host:1/ws/transcription?client_id=a+b&format=s16&token=t%2Fk&language=de"
    assert ws_url("https://h", "x").startswith("wss://h/ws/transcription?")
    assert ws_url("ws://h:2/custom/path?x=1", "y") == "ws://h:2/custom/path?x=1&client_id=y"
    with pytest.raises(ValueError):
        ws_url("ftp://h", "x")


def transcript(cid: str, text: str, final: bool = False) -> dict:
    return {
        "type": "transcript",
        "client_id": cid,
        "text": text,
        "timestamp": 0.0,
        "start": 0.0,
        "end": 1.0,
        "final": final,
    }


def test_printer_plain_single_client() -> None:
    out = io.StringIO()
    p = printer.Printer(out)
    for m in [
        {"type": "ready"},
        transcript("a", " Hello"),
        transcript("a", " world.", True),
        transcript("a", " Next"),
    ]:
        p.message(m)
    p.end_line()
    assert out.getvalue() == "Hello world.\nNext\n"


def test_printer_colors_and_prefixes_per_client() -> None:
    out = io.StringIO()
    p = printer.Printer(out, color=True, prefix=True)
    p.message(transcript("user", " Hi"))
    p.message(transcript("system", " Music", True))
    p.message(transcript("user", " there.", True))
    text = out.getvalue()
    assert "\x1b[36m[user] \x1b[0m\x1b[36mHi\x1b[0m\n" in text
    assert "\x1b[33m[system] \x1b[0m\x1b[33mMusic\x1b[0m\n" in text
    assert text.endswith("\x1b[36m[user] \x1b[0m\x1b[36mthere.\x1b[0m\n")
    assert printer.client_color("user") != printer.client_color("system")


def test_printer_json_prints_every_message() -> None:
    out = io.StringIO()
    p = printer.Printer(out, json_mode=True)
    p.message({"type": "ready", "client_id": "a"})
    p.message(transcript("a", " x", True))
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [m["type"] for m in lines] == ["ready", "transcript"]


def test_file_source_paces_and_resumes(tmp_path: Path) -> None:
    src = feeds.FileFeed(str(write_wav(tmp_path / "a.wav", 1.0)), speed=4.0, frame_ms=100)

    async def take(n: int) -> list[np.ndarray]:
        got = []
        async for f in src.frames():
            got.append(f)
            if len(got) == n:
                break
        return got

    t0 = time.monotonic()
    first = asyncio.run(take(4))
    rest = asyncio.run(take(100))  # a new connection continues where the last one stopped
    elapsed = time.monotonic() - t0
    assert [f.size for f in first] == [1600] * 4 and sum(f.size for f in rest) == 16000 - 6400
    assert 0.15 < elapsed < 1.0  # 1 s of audio at 4x


def test_file_source_resamples_and_downmixes(tmp_path: Path) -> None:
    src = feeds.FileFeed(str(write_wav(tmp_path / "s.wav", 0.5, rate=44100, channels=2)))
    assert src.audio.dtype == np.float32 and abs(src.audio.size - 8000) <= 1


def run_client(argv: list[str]) -> tuple[int, str, str]:
    """The client's main() in a subprocess-like way: returns (code, stdout, stderr)."""
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def server():
    engine = FakeEngine()
    srv = LocalServer(engine, ServerOptions(port=0))
    srv.start()
    yield srv
    srv.stop()
    engine.stop(flush=False)


def test_file_streams_and_exits_after_done(server, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "a.wav", 2.5)
    code, out, err = run_client(
        ["--server", server.ws_url, "--file", str(wav), "--speed", "10", "--format", "s16"]
    )
    assert code == 0, err
    assert out == "w1 w2 last.\n"


def test_json_output(server, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "a.wav", 1.0)
    code, out, _ = run_client(
        [
            "--server",
            server.ws_url,
            "--file",
            str(wav),
            "--speed",
            "10",
            "--json",
            "--client-id",
            "j",
        ]
    )
    types = [json.loads(x)["type"] for x in out.splitlines()]
    assert code == 0 and types[0] == "ready" and types[-1] == "done"


def test_refused_client_exits_1_without_retrying(server, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "a.wav", 1.0)
    server.engine.open_session("taken", lambda e: None)
    t0 = time.monotonic()
    code, _, err = run_client(
        ["--server", server.ws_url, "--file", str(wav), "--client-id", "taken"]
    )
    assert code == 1 and "already connected" in err and time.monotonic() - t0 < 5


def test_bad_wav_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    code, _, err = run_client(["--file", str(bad)])
    assert code == 2 and "bad.wav" in err


def test_gives_up_after_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wav = write_wav(tmp_path / "a.wav", 1.0)
    code, _, err = run_client(
        ["--server", f"127.0.0.1:{port}", "--file", str(wav), "--retries", "2"]
    )
    assert code == 1 and "reconnecting in 0.5 s" in err and "giving up" in err


def test_reconnects_when_the_server_restarts(tmp_path: Path) -> None:
    """The server goes away mid-file and comes back on the same port: the client retries
    with backoff, continues the file where it was, and still ends with done."""
    engine = FakeEngine()
    first = LocalServer(engine, ServerOptions(port=0))
    first.start()
    port = first.port
    wav = write_wav(tmp_path / "long.wav", 6.0)
    result: dict = {}

    def client() -> None:
        result["run"] = run_client(
            ["--server", f"ws://127.0.0.1:{port}", "--file", str(wav), "--speed", "3"]
        )

    t = threading.Thread(target=client)
    t.start()
    time.sleep(0.8)
    first.stop()  # the client sees 1012/1006 and starts retrying
    time.sleep(1.0)
    second = LocalServer(engine, ServerOptions(port=port))
    second.start()
    try:
        t.join(30)
        assert not t.is_alive()
    finally:
        second.stop()
        engine.stop(flush=False)
    code, out, err = result["run"]
    assert code == 0, err
    assert "reconnecting" in err
    assert out.rstrip().endswith("last.")


def test_ctrl_c_flushes_and_exits_0(server, tmp_path: Path) -> None:
    import signal
    import subprocess

    from tests.support import ROOT

    wav = write_wav(tmp_path / "long.wav", 30.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_core.client", "--server", server.ws_url, "--file", str(wav)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    time.sleep(3.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "flushing" in err and out.startswith("w1") and out.rstrip().endswith("last.")


@pytest.mark.skipif(sys.platform != "linux", reason="console script check is for the venv")
def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "whisper-desktop-client"
    if not script.is_file():
        pytest.skip("the package is not installed in this environment")
    import subprocess

    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--both" in proc.stdout and "--loopback" in proc.stdout


# --------------------------------------------------------------------------- real devices


@pytest.mark.e2e
@pytest.mark.model
def test_both_streams_mic_and_system_audio_to_the_real_server(pulse_env, speech_dir):
    """`--both` on virtual PulseAudio devices: one clip plays into the virtual mic, another
    into the speaker; the client sends them as `user` and `system`; Ctrl+C flushes both."""
    import os
    import signal
    import subprocess

    from server_core.wer import wer
    from tests.support import ROOT
    from tests.support.server_helpers import ServerProcess

    srv = ServerProcess("--model", "tiny.en", "--language", "en", "--port", "0").wait_listening()
    env = pulse_env.child_env(PYTHONPATH=str(ROOT))
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_core.client", "--server", srv.ws_url, "--both"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    clips = {"user": "jfk_inaugural", "system": "fleurs_en_005"}
    try:
        deadline = time.monotonic() + 30
        while {c["client_id"] for c in srv.clients()} != {"user", "system"}:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.2)
        players = [
            pulse_env.play(speech_dir / f"{clips['user']}.wav", "micsink"),
            pulse_env.play(speech_dir / f"{clips['system']}.wav", "speaker"),
        ]
        for p in players:
            p.wait(60)
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
        srv.stop(signal.SIGINT)
    print(out, err)
    assert proc.returncode == 0, err
    for cid, name in clips.items():
        lines = [line[len(cid) + 3 :] for line in out.splitlines() if line.startswith(f"[{cid}] ")]
        text = " ".join(lines)
        score = wer((speech_dir / f"{name}.txt").read_text(), text)
        print(f"--both {cid} ({name}): WER {score:.3f}: {text}")
        assert score <= 0.25, (cid, text)
    assert os.environ.get("PULSE_SERVER") != env.get("PULSE_SERVER")  # ours, not the user's


BLOCK_TORCH = """
import importlib.abc, runpy, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the blocker did not block torch")
sys.argv = ["whisper-desktop-client", *sys.argv[1:]]
runpy.run_module("server_core.client", run_name="__main__")
"""


def run_without_torch(*args: str) -> subprocess.CompletedProcess:
    return run_python(BLOCK_TORCH, *args)


def test_client_help_runs_where_torch_cannot_be_imported() -> None:
    done = run_without_torch("--help")
    assert done.returncode == 0, done.stderr
    assert "--file" in done.stdout and "--server" in done.stdout


def test_client_streams_a_file_where_torch_cannot_be_imported(server, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "two.wav", 2.2)
    done = run_without_torch("--server", server.ws_url, "--file", str(wav), "--speed", "4")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["w1", "w2", "last."], done.stdout
