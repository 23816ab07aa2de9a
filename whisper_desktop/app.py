"""`whisper-desktop`: the tray app captioning the microphone, system audio and remote clients.

This module parses the command line and checks for a display before Qt is imported; the app
itself is :class:`whisper_desktop.controller.DesktopApp`. The engine and the server run in
:mod:`host` (one worker thread), the audio in :mod:`capture`, the windows in :mod:`widgets`,
the history in :mod:`history`; they talk to the controller through signals.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import logging
import logging.handlers
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from server_core.extras import missing_extra_message
from whisper_desktop.paths import resolve_data_dir

log = logging.getLogger("whisper_desktop")


# -- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="whisper-desktop",
        description="Live captions of your microphone and system audio, in the tray.",
        epilog="Other commands: `whisper-desktop --server-only` (no desktop), "
        "`whisper-desktop history export --format srt`.",
    )
    p.add_argument("--model", help="Whisper model: a name (tiny.en, base, …), a .pt or a folder")
    p.add_argument("--language", help="language code, or 'auto'")
    p.add_argument(
        "--device",
        help="where the model runs: auto (the GPU where CUDA works), cpu, cuda or cuda:N "
        "(default: the saved setting, auto at first)",
    )
    p.add_argument("--data-dir", help="where history and settings live (default: user data dir)")
    p.add_argument("--port", type=int, help="port of the local server (default 9000)")
    p.add_argument("--no-server", action="store_true", help="do not accept remote clients")
    p.add_argument(
        "--no-final-pass",
        action="store_true",
        help="no second, offline-style pass over each finished utterance (this run only)",
    )
    commands = p.add_mutually_exclusive_group()
    commands.add_argument(
        "--toggle-captions",
        action="store_true",
        help="show or hide the captions of the running app, then exit (for a hotkey)",
    )
    commands.add_argument(
        "--toggle-mic",
        action="store_true",
        help="pause or resume the running app's microphone, then exit (for a hotkey)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more to standard error")
    return p


def display_problem() -> str | None:
    """Why no window can be shown here, or None. Checked before Qt, which would abort."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].lower()
    if platform in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "minimalegl"):
        return None
    if sys.platform in ("win32", "darwin"):
        return None
    if os.environ.get("WAYLAND_DISPLAY") and platform != "xcb":
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no display found (DISPLAY is not set)"
    lib = ctypes.util.find_library("X11")
    if lib:
        x11 = ctypes.cdll.LoadLibrary(lib)
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        handle = x11.XOpenDisplay(display.encode())
        if not handle:
            return f"cannot open the display {display}"
        x11.XCloseDisplay(handle)
    return None


def device_problem(device: str | None) -> str | None:
    """Why ``--device`` cannot be used here (a GPU that is not there), or None. Checked before
    Qt; only a device other than auto and cpu costs the import of torch."""
    if device is None or device.strip().lower() in ("auto", "cpu"):
        return None
    from server_core.engine.device import resolve_device
    from server_core.errors import ComputeDeviceError

    try:
        resolve_device(device)
    except ComputeDeviceError as exc:
        return str(exc)
    return None


def setup_logging(data_dir: Path, verbose: bool) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(fmt)
    root.addHandler(console)
    try:
        file = logging.handlers.RotatingFileHandler(
            data_dir / "whisper-desktop.log", maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
        file.setLevel(logging.INFO)
        file.setFormatter(fmt)
        root.addHandler(file)
    except OSError as exc:
        log.warning("no log file: %s", exc)


# -- entry point -------------------------------------------------------------------------------


def _install_signal_handlers(on_signal: Callable[[], None]) -> None:
    """SIGTERM/SIGINT quit cleanly: a wakeup socket lets Qt's loop notice Python signals."""
    from PySide6.QtCore import QSocketNotifier

    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    wsock.setblocking(False)
    signal.set_wakeup_fd(wsock.fileno())
    notifier = QSocketNotifier(rsock.fileno(), QSocketNotifier.Type.Read)

    def drain() -> None:
        try:
            rsock.recv(64)
        except OSError:
            pass

    notifier.activated.connect(drain)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: on_signal())
    _install_signal_handlers.keep = (rsock, wsock, notifier)  # type: ignore[attr-defined]


def send_command(data_dir: Path, command: str) -> int:
    """Hand ``command`` to the running app of ``data_dir``; never starts one. No display is
    needed: only the local socket is used."""
    from PySide6.QtCore import QCoreApplication

    from whisper_desktop.single_instance import SingleInstance, instance_key

    _qapp = QCoreApplication.instance() or QCoreApplication(["whisper-desktop"])
    instance = SingleInstance(instance_key(data_dir))
    if not instance.is_held() or not instance.send(command, timeout_ms=1500):
        print(f"whisper-desktop: no running instance to {command.replace('-', ' ')}.",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    # Before torch loads OpenMP: idle worker threads sleep instead of spinning. With two capture
    # sessions feeding the VAD all the time, spinning costs most of a small CPU (measured on
    # 2 cores: 78% -> 12% while listening to silence).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser().parse_args(argv)
    problem = missing_extra_message("desktop", "the desktop app")
    if problem:
        print(f"whisper-desktop: error: {problem}", file=sys.stderr)
        return 2
    if args.toggle_captions or args.toggle_mic:
        from whisper_desktop.single_instance import TOGGLE_CAPTIONS, TOGGLE_MIC

        command = TOGGLE_CAPTIONS if args.toggle_captions else TOGGLE_MIC
        return send_command(resolve_data_dir(args.data_dir), command)
    problem = device_problem(args.device)
    if problem:
        print(f"whisper-desktop: {problem}", file=sys.stderr)
        return 2
    problem = display_problem()
    if problem:
        print(
            f"whisper-desktop: {problem}; to run only the transcription server, "
            "use `whisper-desktop --server-only`.",
            file=sys.stderr,
        )
        return 2
    data_dir = resolve_data_dir(args.data_dir)
    setup_logging(data_dir, args.verbose)

    from PySide6.QtWidgets import QApplication

    from whisper_desktop.controller import DesktopApp
    from whisper_desktop.i18n import install_translators, ui_language
    from whisper_desktop.icons import app_icon, style_sheet
    from whisper_desktop.qt_compat import protect_singletons
    from whisper_desktop.settings import Overrides, open_qsettings
    from whisper_desktop.single_instance import SingleInstance, instance_key

    protect_singletons()
    qapp = QApplication.instance() or QApplication(["whisper-desktop"])
    qapp.setApplicationName("Whisper Desktop")
    qapp.setDesktopFileName("io.github.whisper_desktop.WhisperDesktop")
    qapp.setWindowIcon(app_icon())
    qapp.setQuitOnLastWindowClosed(False)
    qapp.setStyleSheet(style_sheet())
    translators = install_translators(qapp, ui_language())

    instance = SingleInstance(instance_key(data_dir))
    if not instance.acquire():
        if instance.send():
            print("whisper-desktop is already running; it was asked to show itself.")
            return 0
        print(
            "whisper-desktop: another instance holds the lock but does not answer.", file=sys.stderr
        )
        return 1

    overrides = Overrides(
        model=args.model,
        language=args.language,
        device=args.device,
        port=args.port,
        no_server=args.no_server,
        no_final_pass=args.no_final_pass,
    )
    qsettings = open_qsettings(Path(args.data_dir).expanduser() if args.data_dir else None)
    app = DesktopApp(data_dir, qsettings, overrides)
    instance.message_received.connect(app.on_message)
    _install_signal_handlers(app.quit)
    app.start()
    rc = qapp.exec()
    del translators  # kept alive until here
    instance.release()
    # Everything is saved and closed. Engine and audio threads may still be inside native code
    # (a flush cut short by the quit deadline); tearing the interpreter down under them can abort
    # in C++ destructors, so leave without running them.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)
