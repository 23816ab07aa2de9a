"""`whisper-desktop --server-only` option parsing, the reference config, and LocalServer basics."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from websockets.asyncio.client import connect

from server_core.cli_options import read_dotenv
from server_core.languages import normalize_language
from server_core.model_names import normalize_model_spec
from server_core.net.server import LocalServer, ServerError, ServerOptions, lan_address
from server_core.serve import parse_serve_options
from tests.support import ROOT
from tests.support.server_helpers import ServerProcess, endpoint, run


def test_dotenv_parsing(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\n"
        "WHISPER_MODEL_PATH=/models/turbo.pt\n"
        "export WHISPER_LAN='de'\n"
        'WHISPER_LOG_LEVEL="debug"  \n'
        "EMPTY=\n"
        "TRAILING=x # note\n"
        'QUOTED="a b" # note\n'
        "NO_VALUE\n"
        "not a line\n"
    )
    assert read_dotenv(tmp_path / ".env") == {
        "WHISPER_MODEL_PATH": "/models/turbo.pt",
        "WHISPER_LAN": "de",
        "WHISPER_LOG_LEVEL": "debug",
        "EMPTY": "",
        "TRAILING": "x",
        "QUOTED": "a b",
    }
    assert read_dotenv(tmp_path / "missing.env") == {}


def test_model_spec_of_the_reference_system(tmp_path: Path) -> None:
    assert normalize_model_spec("turbo.pt") == "turbo"
    assert normalize_model_spec("/app/models/large-v3.pt") == "large-v3"
    assert normalize_model_spec("tiny.en") == "tiny.en"
    real = tmp_path / "turbo.pt"
    real.write_bytes(b"x")
    assert normalize_model_spec(str(real)) == str(real)  # an existing file is a file
    assert normalize_model_spec("mystery.pt") == "mystery.pt"  # models.py will explain
    with pytest.raises(ValueError):
        normalize_model_spec("  ")


def test_languages() -> None:
    assert normalize_language("DE") == "de"
    assert normalize_language("german") == "de"
    assert normalize_language("auto") == "auto"
    with pytest.raises(ValueError, match="unknown language"):
        normalize_language("klingon")


def test_flags_win_over_env_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WHISPER_MODEL_PATH=turbo.pt\nWHISPER_LAN=fr\n")
    opts = parse_serve_options([], environ={}, cwd=tmp_path)
    assert (opts.model, opts.language, opts.host, opts.port) == ("turbo", "fr", "127.0.0.1", 9000)
    env = {"WHISPER_LAN": "de", "WHISPER_LOG_LEVEL": "debug"}
    opts = parse_serve_options([], environ=env, cwd=tmp_path)
    assert (opts.model, opts.language, opts.log_level) == ("turbo", "de", "DEBUG")
    opts = parse_serve_options(
        ["--model", "tiny.en", "--language", "en", "--port", "9001", "--max-clients", "3"],
        environ=env,
        cwd=tmp_path,
    )
    assert (opts.model, opts.language, opts.port, opts.max_clients) == ("tiny.en", "en", 9001, 3)


def test_model_device_precision_and_token_defaults(tmp_path: Path) -> None:
    opts = parse_serve_options([], environ={}, cwd=tmp_path)
    # no model named: the device's default is chosen once the device is known (serve.main)
    assert (opts.model, opts.device, opts.precision, opts.token) == (None, "auto", "auto", None)
    env = {"WHISPER_DESKTOP_TOKEN": "from-env", "WHISPER_MODEL_PATH": ""}
    opts = parse_serve_options(["--precision", "fp32"], environ=env, cwd=tmp_path)
    assert (opts.model, opts.precision, opts.token) == (None, "fp32", "from-env")
    opts = parse_serve_options(["--token", "flag", "--device", "cuda:1"], environ=env, cwd=tmp_path)
    assert (opts.token, opts.device) == ("flag", "cuda:1")


def test_tls_options(tmp_path: Path) -> None:
    opts = parse_serve_options([], environ={}, cwd=tmp_path)
    assert opts.tls.enabled and opts.tls.certfile is None  # TLS decided by the bind address
    opts = parse_serve_options(["--no-tls"], environ={}, cwd=tmp_path)
    assert not opts.tls.enabled
    opts = parse_serve_options(
        ["--certfile", "/c.pem", "--keyfile", "/k.pem"], environ={}, cwd=tmp_path
    )
    assert (opts.tls.certfile, opts.tls.keyfile) == (Path("/c.pem"), Path("/k.pem"))
    with pytest.raises(ValueError, match="--no-tls cannot go with"):
        parse_serve_options(["--no-tls", "--certfile", "/c.pem"], environ={}, cwd=tmp_path)
    with pytest.raises(ValueError, match="--keyfile needs --certfile"):
        parse_serve_options(["--keyfile", "/k.pem"], environ={}, cwd=tmp_path)


@pytest.mark.parametrize(
    "argv",
    [["--language", "xx"], ["--max-clients", "0"], ["--port", "70000"], ["--log-level", "loud"]],
)
def test_bad_options(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        parse_serve_options(argv, environ={}, cwd=tmp_path)


def _serve(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("WHISPER_MODEL_PATH", None)
    return subprocess.run(
        [sys.executable, "-m", "whisper_desktop", "--server-only", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


def test_bad_model_spec_is_one_clear_line(tmp_path: Path) -> None:
    proc = _serve(["--model", "/nowhere/model.bin", "--port", "0"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "/nowhere/model.bin" in errors[0], proc.stderr


def test_bad_model_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WHISPER_MODEL_PATH=not-a-model-name\n")
    proc = _serve(["--port", "0"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not-a-model-name" in proc.stderr


def test_bad_language_flag_exits_2(tmp_path: Path) -> None:
    proc = _serve(["--language", "xx"], tmp_path, timeout=60)
    assert proc.returncode == 2 and "unknown language" in proc.stderr
    assert "Traceback" not in proc.stderr


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_one_clear_line(tmp_path: Path) -> None:
    t0 = time.monotonic()
    proc = _serve(["--device", "cuda", "--port", "0"], tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc)
    assert line.startswith("whisper-desktop: error: device 'cuda': CUDA is not available"), line
    assert "Loading model" not in proc.stdout  # refused before turbo would be fetched
    assert time.monotonic() - t0 < 30


def test_unknown_device_and_int8_on_a_gpu_are_one_clear_line(tmp_path: Path) -> None:
    proc = _serve(["--device", "tpu", "--port", "0"], tmp_path, timeout=60)
    assert proc.returncode == 2 and "unknown device 'tpu'" in _one_error_line(proc)
    if not torch.cuda.is_available():
        return
    proc = _serve(["--device", "cuda", "--precision", "int8", "--port", "0"], tmp_path)
    assert proc.returncode == 2 and "int8 is for the CPU" in _one_error_line(proc)


@pytest.mark.model
@pytest.mark.skipif(torch.cuda.is_available(), reason="auto picks the GPU on this machine")
def test_auto_device_is_the_cpu_with_base_in_fp32(tmp_path: Path) -> None:
    """No CUDA here: --device auto picks the CPU, and the CPU's default model, base, in fp32
    (its encoder in bf16 where the CPU has bfloat16 instructions); /health and the "ready"
    message say so."""
    from server_core.config import cpu_has_bf16

    dtype = "bfloat16" if cpu_has_bf16() else "float32"
    env = {"WHISPER_MODEL_PATH": "", "WHISPER_LAN": "en"}
    server = ServerProcess("--device", "auto", "--port", "0", env=env, cwd=tmp_path)
    try:
        server.wait_listening()
        health = server.get("/health")
        assert (health["model"], health["device"], health["dtype"]) == ("base", "cpu", dtype)

        async def ready() -> dict:
            async with connect(endpoint(server.ws_url, "probe")) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), 30))

        first = run(ready())
        assert first["type"] == "ready" and first["model"] == "base", first
        assert (first["device"], first["dtype"]) == ("cpu", dtype)
    finally:
        assert server.stop() == 0, server.output()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = _serve(["--model", "tiny.en", "--port", str(port)], tmp_path, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "Address already in use" in proc.stderr or "cannot listen" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- LocalServer


def test_local_server_lifecycle_and_urls() -> None:
    from tests.support.fake_engine import FakeEngine

    engine = FakeEngine()
    server = LocalServer(engine, ServerOptions(port=0))
    assert server.token is None and not server.generated_token and server.lan_url is None
    server.start()
    try:
        import json
        import urllib.request

        assert server.tls is None  # loopback stays plain
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/"
        assert server.ws_url == f"ws://127.0.0.1:{server.port}/ws/transcription"
        with urllib.request.urlopen(server.url + "health", timeout=5) as r:
            assert json.load(r)["model"] == "fake"
        busy = LocalServer(engine, ServerOptions(port=server.port))
        with pytest.raises(ServerError, match="cannot listen"):
            busy.start()
    finally:
        t0 = time.monotonic()
        server.stop()
        engine.stop()
    assert time.monotonic() - t0 < 5 and not server.running


def test_off_loopback_bind_generates_a_token() -> None:
    from tests.support.fake_engine import FakeEngine

    server = LocalServer(FakeEngine(), ServerOptions(host="0.0.0.0", port=0))
    assert server.generated_token and len(server.token) >= 16
    server.bind()
    try:
        lan = server.lan_url
        if lan_address() is not None:
            assert lan.startswith(f"https://{lan_address()}:")
            assert lan.endswith(f":{server.port}/?token={server.token}")
        assert server.tls is not None and server.tls.self_signed  # off loopback: TLS
        assert server.url.startswith("https://127.0.0.1:")
        assert server.ws_url.startswith("wss://127.0.0.1:")
    finally:
        server.close()
    given = LocalServer(FakeEngine(), ServerOptions(host="0.0.0.0", port=0, token="mine"))
    assert given.token == "mine" and not given.generated_token


def test_final_pass_is_off_unless_the_flag_or_the_environment_turns_it_on(tmp_path: Path) -> None:
    assert parse_serve_options([], environ={}, cwd=tmp_path).final_pass is False
    assert parse_serve_options(["--final-pass"], environ={}, cwd=tmp_path).final_pass is True
    on = {"WHISPER_FINAL_PASS": "on"}
    assert parse_serve_options([], environ=on, cwd=tmp_path).final_pass is True
    assert parse_serve_options(["--no-final-pass"], environ=on, cwd=tmp_path).final_pass is False
    off = {"WHISPER_FINAL_PASS": "0"}
    assert parse_serve_options([], environ=off, cwd=tmp_path).final_pass is False
    with pytest.raises(ValueError, match="WHISPER_FINAL_PASS"):
        parse_serve_options([], environ={"WHISPER_FINAL_PASS": "maybe"}, cwd=tmp_path)
