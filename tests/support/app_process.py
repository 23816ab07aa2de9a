"""The real desktop app in a subprocess, started with a model that does not exist, so that it
settles at once in its "error" state (no engine, no server) with its windows up."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import ROOT


@contextmanager
def app_settled(data_dir: Path, state: Path, env: dict[str, str]) -> Iterator[dict]:
    """Yield the app's state once it reports "error"; then SIGTERM must end it cleanly."""
    state.unlink(missing_ok=True)
    env = {**env, "WHISPER_DESKTOP_STATE_FILE": str(state)}
    argv = [sys.executable, "-m", "whisper_desktop", "--data-dir", str(data_dir),
            "--model", "no-such-model", "--no-server"]  # fmt: skip
    app = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        st: dict = {}
        while time.monotonic() < deadline and st.get("state") != "error":
            time.sleep(0.2)
            try:
                st = json.loads(state.read_text())
            except (OSError, ValueError):
                st = {}
        assert st.get("state") == "error", st
        yield st
        app.send_signal(signal.SIGTERM)
        assert app.wait(10) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_state(path: Path) -> dict:
    """The app's debug state file (WHISPER_DESKTOP_STATE_FILE), or {} while unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def wait_listening(state: Path, app: subprocess.Popen, timeout: float) -> None:
    """Until the app listens with both captures running; RuntimeError if it exits or not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"the app exited with {app.returncode} before it was ready")
        st = read_state(state)
        if st.get("state") == "listening" and all(
            st.get("captures", {}).get(c, [""])[0] == "running" for c in ("user", "system")
        ):
            return
        time.sleep(0.3)
    raise RuntimeError(f"the app was not listening after {timeout:.0f} s: {read_state(state)}")


def start_app(
    env: dict[str, str], model: str, data_dir: Path, state: Path, console
) -> subprocess.Popen:
    """The real desktop app on ``model`` (English), its debug state in ``state``, its output
    in the open file ``console``; ``env`` as a virtual desktop gives it."""
    return subprocess.Popen(
        [sys.executable, "-m", "whisper_desktop", "--model", model, "--language", "en",
         "--data-dir", str(data_dir), "--port", str(free_port())],
        env={**env, "WHISPER_DESKTOP_STATE_FILE": str(state)}, cwd=ROOT,
        stdout=console, stderr=subprocess.STDOUT,
    )  # fmt: skip
