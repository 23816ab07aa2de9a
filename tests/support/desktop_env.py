"""A real virtual desktop for tests: Xvfb, a tray host (trayer) and a PulseAudio sound server.

PulseAudio runs in user mode with two null sinks and a virtual microphone:

- sink ``speaker`` (the default sink): what it plays is the *system audio*; its monitor is the
  loopback that the app records.
- sink ``micsink``: what it plays comes out of the source ``virtmic`` (the default source), which
  the app records as its *microphone*.

Every daemon is started by this module, its PID recorded, and stopped by that PID only. When a
binary is missing the fixtures skip with the Debian package to install.

Use the fixtures ``pulse_env`` (sound only) and ``desktop_env`` (display + tray + sound); both
give a :class:`DesktopEnv` whose ``env`` holds the variables a child process needs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# binary -> Debian package
BINARIES = {
    "Xvfb": "xvfb",
    "trayer": "trayer",
    "pulseaudio": "pulseaudio",
    "pactl": "pulseaudio-utils",
    "paplay": "pulseaudio-utils",
    "sox": "sox",
    "import": "imagemagick",
    "xdotool": "xdotool",
}
SCREEN = "1280x800x24"
SPEAKER_SINK = "speaker"
MIC_FEED_SINK = "micsink"
MIC_SOURCE = "virtmic"

_NULL_SINK = "load-module module-null-sink sink_name={name} rate=48000 norewinds=1"
PULSE_CONFIG = "\n".join(
    [
        "load-module module-native-protocol-unix auth-anonymous=1 socket={socket}",
        _NULL_SINK.format(name="{speaker}") + " sink_properties=device.description=VirtualSpeaker",
        _NULL_SINK.format(name="{micsink}") + " sink_properties=device.description=VirtualMicFeed",
        "load-module module-remap-source master={micsink}.monitor source_name={mic}"
        " source_properties=device.description=VirtualMic",
        "set-default-sink {speaker}",
        "set-default-source {mic}",
        "",
    ]
)
# norewinds=1: without it a null sink's monitor garbles the start of every new stream.


def missing_binaries(*names: str) -> list[str]:
    return [f"{n} (apt install {BINARIES.get(n, n)})" for n in names if shutil.which(n) is None]


def _x11():
    lib = ctypes.util.find_library("X11")
    if not lib:
        return None
    x = ctypes.cdll.LoadLibrary(lib)
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XGetSelectionOwner.restype = ctypes.c_ulong
    x.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    return x


@contextmanager
def open_display(display: str) -> Iterator[tuple[Any, int] | None]:
    """libX11 and a connection to ``display``, closed afterwards; None when either is missing."""
    x = _x11()
    handle = x.XOpenDisplay(display.encode()) if x is not None else None
    if not handle:
        yield None
        return
    try:
        yield x, handle
    finally:
        x.XCloseDisplay(handle)


def display_answers(display: str) -> bool:
    with open_display(display) as opened:
        return opened is not None


def tray_owned(display: str) -> bool:
    """Whether a system-tray host owns the XEmbed selection ``_NET_SYSTEM_TRAY_S0``."""
    with open_display(display) as opened:
        if opened is None:
            return False
        x, d = opened
        return bool(x.XGetSelectionOwner(d, x.XInternAtom(d, b"_NET_SYSTEM_TRAY_S0", 0)))


def _wait(pred, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def _free_display() -> str:
    for n in range(140, 240):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return f":{n}"
    raise RuntimeError("no free X display number")


@dataclass
class DesktopEnv:
    """The daemons this test session started, and the environment that reaches them."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return self.env.get("DISPLAY", "")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 (kept open for the daemon)
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs[name] = proc
        (self.root / f"{name}.pid").write_text(str(proc.pid))
        return proc

    def log_of(self, name: str) -> str:
        p = self.root / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def start_display(self, tray: bool = True) -> None:
        display = _free_display()
        base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        xvfb = self._spawn(
            "xvfb", ["Xvfb", display, "-screen", "0", SCREEN, "-nolisten", "tcp", "-noreset"], base
        )
        _wait(lambda: display_answers(display), 20, "Xvfb", xvfb)
        # the tests find menu entries by their English text, whatever this machine's locale
        self.env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", WHISPER_DESKTOP_UI_LANGUAGE="en")
        if tray:
            trayer = self._spawn(
                "trayer",
                [
                    "trayer",
                    "--edge",
                    "bottom",
                    "--align",
                    "right",
                    "--widthtype",
                    "pixel",
                    "--width",
                    "200",
                    "--heighttype",
                    "pixel",
                    "--height",
                    "32",
                    "--transparent",
                    "false",
                    "--SetDockType",
                    "true",
                    "--SetPartialStrut",
                    "true",
                ],
                {**base, "DISPLAY": display},
            )
            _wait(lambda: tray_owned(display), 20, "trayer", trayer)

    def start_pulse(self) -> None:
        xdg = self.root / "xdg"
        (xdg / "pulse").mkdir(parents=True, exist_ok=True)
        xdg.chmod(0o700)
        socket = xdg / "pulse" / "native"
        config = self.root / "pulse.pa"
        config.write_text(
            PULSE_CONFIG.format(
                socket=socket, speaker=SPEAKER_SINK, micsink=MIC_FEED_SINK, mic=MIC_SOURCE
            )
        )
        state = self.root / "pulse-state"
        state.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        env.update(XDG_RUNTIME_DIR=str(xdg), PULSE_STATE_PATH=str(state), HOME=str(self.root))
        proc = self._spawn(
            "pulseaudio",
            [
                "pulseaudio",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "-n",
                "-F",
                str(config),
                "--log-target=stderr",
            ],
            env,
        )
        self.env.update(XDG_RUNTIME_DIR=str(xdg), PULSE_SERVER=f"unix:{socket}")

        def answers() -> bool:
            r = subprocess.run(["pactl", "info"], env=self.child_env(), capture_output=True)
            return r.returncode == 0

        _wait(answers, 20, "pulseaudio", proc)

    def child_env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra)
        return env

    def pactl(self, *args: str) -> str:
        r = subprocess.run(
            ["pactl", *args], env=self.child_env(), capture_output=True, text=True, check=True
        )
        return r.stdout

    def play(self, wav: Path, sink: str) -> subprocess.Popen:
        """Start playing a WAV file into a sink (``speaker`` or ``micsink``)."""
        return subprocess.Popen(
            ["paplay", f"--device={sink}", str(wav)],
            env=self.child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def screenshot(self, path: Path, crop: tuple[int, int, int, int] | None = None) -> Path:
        """Grab the X screen (or a rectangle x, y, w, h of it) into a PNG with imagemagick."""
        argv = ["import", "-window", "root"]
        if crop is not None:
            x, y, w, h = crop
            argv += ["-crop", f"{w}x{h}+{x}+{y}", "+repage"]
        subprocess.run([*argv, str(path)], env=self.child_env(), check=True, timeout=30)
        return path

    def xdotool(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["xdotool", *args], env=self.child_env(), capture_output=True, text=True, timeout=15
        )

    def stop(self) -> None:
        """Stop what we started, newest first, each by its recorded PID."""
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            (self.root / f"{name}.pid").unlink(missing_ok=True)
        self.procs.clear()


def resample_wav(src: Path, dst: Path, rate: int = 48000, pad_seconds: float = 0.3) -> Path:
    """A copy at ``rate`` Hz, 16-bit mono, with a little silence around it (sox)."""
    subprocess.run(
        [
            "sox",
            str(src),
            "-r",
            str(rate),
            "-c",
            "1",
            "-b",
            "16",
            str(dst),
            "pad",
            str(pad_seconds),
            str(pad_seconds),
        ],
        check=True,
    )
    return dst


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine; in CI (CI=true) the environment must be there: fail."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


def _start(display: bool, tray: bool) -> Iterator[DesktopEnv]:
    needed = ["pulseaudio", "pactl", "paplay", "sox"]
    if display:
        needed += ["Xvfb", "import", "xdotool"] + (["trayer"] if tray else [])
    missing = missing_binaries(*needed)
    if display and _x11() is None:
        missing.append("libX11 (apt install libx11-6)")
    if missing:
        _unavailable("desktop test environment incomplete, missing: " + ", ".join(missing))
    # short path: a unix socket path must stay under 108 bytes
    env = DesktopEnv(Path(tempfile.mkdtemp(prefix="wd-env-")))
    try:
        env.start_pulse()
        if display:
            env.start_display(tray=tray)
    except Exception as exc:
        logs = {n: env.log_of(n)[-800:] for n in env.procs}
        env.stop()
        _unavailable(f"could not start the desktop test environment: {exc}; logs: {logs}")
    try:
        yield env
    finally:
        env.stop()
        shutil.rmtree(env.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pulse_env() -> Iterator[DesktopEnv]:
    """PulseAudio with the virtual speaker and microphone; no display."""
    yield from _start(display=False, tray=False)


@pytest.fixture(scope="module")
def desktop_env() -> Iterator[DesktopEnv]:
    """Xvfb + trayer + PulseAudio."""
    yield from _start(display=True, tray=True)
