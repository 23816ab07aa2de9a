"""What a newcomer meets when capture cannot work (issue 23): a capture that keeps failing is
logged once per problem, not on every retry, and the hint names what is actually missing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from server_core.audio.sources import Capture, CaptureState, DeviceError
from tests.support import ROOT


class ScriptedSource:
    """Fails with each problem of ``script`` in turn; ``None`` delivers audio for a moment."""

    def __init__(self, script: list[str | None]) -> None:
        self.script = script
        self.runs = 0

    def describe(self) -> str:
        return "scripted device"

    def run(self, sink, stop: threading.Event) -> None:
        step = self.script[min(self.runs, len(self.script) - 1)]
        self.runs += 1
        if step is None:
            for _ in range(3):
                sink(np.zeros(1600, np.float32))
                time.sleep(0.1)
            raise DeviceError("the device went away")
        raise DeviceError(step)


def run_capture(script: list[str | None], caplog) -> tuple[list[str], list[str]]:
    """Warnings logged and states seen until the source has run through ``script``."""
    source = ScriptedSource(script)
    states: list[str] = []
    capture = Capture(
        source,
        lambda chunk: None,
        on_state=lambda state, detail: states.append(state),
        retry_seconds=0.01,
        name="mic",
    )
    with caplog.at_level(logging.DEBUG, logger="server_core.audio.sources"):
        capture.start()
        deadline = time.monotonic() + 10
        while source.runs < len(script) + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        capture.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return warnings, states


def test_the_same_problem_is_logged_once(caplog) -> None:
    warnings, states = run_capture(["no PortAudio"] * 5, caplog)
    assert states.count(CaptureState.RETRYING) >= 5
    assert len(warnings) == 1 and "no PortAudio" in warnings[0], warnings


def test_a_new_problem_or_a_recovery_is_logged_again(caplog) -> None:
    script = ["unplugged", "unplugged", "busy", "busy", None, "busy", "busy"]
    warnings, _ = run_capture(script, caplog)
    problems = [w.split(": ", 1)[1].split(";")[0] for w in warnings]
    # after audio came, the same problem as before is news again
    assert problems == ["unplugged", "busy", "the device went away", "busy"], warnings


def error_of(call: str, env: dict[str, str]) -> str:
    """The DeviceError that ``sources.<call>`` raises in a fresh interpreter with ``env``."""
    code = (
        "from server_core.audio import sources\n"
        f"try:\n    sources.{call}\nexcept sources.DeviceError as e:\n    print(e)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_no_sound_server_is_not_a_missing_package() -> None:
    line = error_of("list_speakers()", {"PULSE_SERVER": "unix:/nonexistent/native"})
    assert line.startswith("system audio unavailable"), line
    assert "no PulseAudio or PipeWire sound server answers" in line, line
    assert "pip install" not in line, line


def test_missing_portaudio_names_the_library(tmp_path: Path) -> None:
    # sounddevice's own error when libportaudio2 is not installed, raised at import as it does
    (tmp_path / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    line = error_of("list_input_devices()", {"PYTHONPATH": str(tmp_path)})
    assert "apt install libportaudio2" in line and "pip install" not in line, line


def test_a_missing_package_names_the_package(tmp_path: Path) -> None:
    (tmp_path / "soundcard.py").write_text(
        'raise ModuleNotFoundError("No module named \'soundcard\'", name="soundcard")\n'
    )
    line = error_of("list_speakers()", {"PYTHONPATH": str(tmp_path)})
    assert "pip install soundcard" in line and "sound server" not in line, line
