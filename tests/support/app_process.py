"""The real desktop app in a subprocess, started with a model that does not exist, so that it
settles at once in its "error" state (no engine, no server) with its windows up."""

from __future__ import annotations

import json
import signal
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
