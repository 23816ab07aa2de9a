"""Hotkey commands: `whisper-desktop --toggle-captions` / `--toggle-mic` reach the running app
through the single-instance socket, and never start an app of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import ROOT


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env.update(extra)
    return env


def _command(data: Path, flag: str) -> subprocess.CompletedProcess[str]:
    """The command as a hotkey runs it: no display needed."""
    return subprocess.run(
        [sys.executable, "-m", "whisper_desktop", flag, "--data-dir", str(data)],
        env=_env(), capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip


def _wait_state(state: Path, ok: Callable[[dict], bool], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:
            last = json.loads(state.read_text())
        except (OSError, ValueError):
            last = {}
        if last and ok(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"state never matched: {last}")


def test_commands_without_a_running_app_say_so_and_start_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for flag in ("--toggle-captions", "--toggle-mic"):
        r = _command(data, flag)
        assert r.returncode == 1, r
        assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
        assert "no running instance" in r.stderr and "Traceback" not in r.stderr
    assert not (data / "settings.ini").exists() and not (data / "whisper-desktop.log").exists()


def test_commands_toggle_the_running_apps_captions_and_microphone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    state = tmp_path / "state.json"
    env = _env(QT_QPA_PLATFORM="offscreen", WHISPER_DESKTOP_STATE_FILE=str(state))
    argv = [sys.executable, "-m", "whisper_desktop", "--data-dir", str(data),
            "--model", "no-such-model", "--no-server"]  # fmt: skip
    app = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        st = _wait_state(state, lambda s: s["state"] == "error", timeout=60)
        assert st["overlay"]["visible"] and st["captions_enabled"] and st["mic_enabled"]

        r = _command(data, "--toggle-captions")
        assert r.returncode == 0 and r.stderr == "", r
        _wait_state(state, lambda s: not s["overlay"]["visible"] and not s["captions_enabled"])
        r = _command(data, "--toggle-captions")
        assert r.returncode == 0, r
        _wait_state(state, lambda s: s["overlay"]["visible"] and s["captions_enabled"])

        r = _command(data, "--toggle-mic")
        assert r.returncode == 0, r
        st = _wait_state(state, lambda s: not s["mic_enabled"])
        assert st["captions_enabled"]  # only the microphone changed
        assert "mic_enabled=false" in (data / "settings.ini").read_text().replace(" ", "")
        r = _command(data, "--toggle-mic")
        assert r.returncode == 0, r
        _wait_state(state, lambda s: s["mic_enabled"])

        app.send_signal(signal.SIGTERM)
        assert app.wait(10) == 0
        assert json.loads(state.read_text())["final"] is True
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
