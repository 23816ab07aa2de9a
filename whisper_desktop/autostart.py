"""Start with the desktop session: an XDG autostart entry (freedesktop.org Desktop Application
Autostart Specification), written when the setting is turned on and removed when it is off.
No Qt here."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

ENTRY_NAME = "whisper-desktop.desktop"
ICON_NAME = "io.github.whisper_desktop.WhisperDesktop"


def autostart_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/autostart``, ``~/.config/autostart`` when unset or not absolute."""
    env = os.environ if environ is None else environ
    config = env.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and os.path.isabs(config) else Path.home() / ".config"
    return base / "autostart"


def entry_path(environ: Mapping[str, str] | None = None) -> Path:
    return autostart_dir(environ) / ENTRY_NAME


def launch_command() -> list[str]:
    """How to start this app: the installed command, else this Python running the package."""
    found = shutil.which("whisper-desktop")
    return [found] if found else [sys.executable, "-m", "whisper_desktop"]


def _exec_arg(arg: str) -> str:
    """One argument of an ``Exec`` line, quoted as the Desktop Entry spec asks."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`%="):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'.replace("%", "%%")


def entry_text(command: Sequence[str]) -> str:
    exec_line = " ".join(_exec_arg(a) for a in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        "Name=Whisper Desktop\n"
        "Comment=Live captions of your microphone and system audio\n"
        f"Exec={exec_line}\n"
        f"Icon={ICON_NAME}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def is_enabled(environ: Mapping[str, str] | None = None) -> bool:
    return entry_path(environ).is_file()


def set_enabled(
    on: bool, command: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Write (``on``) or remove the entry; returns its path. Raises OSError if it cannot."""
    path = entry_path(environ)
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(entry_text(command or launch_command()), encoding="utf-8")
        os.replace(tmp, path)
        log.info("autostart entry written: %s", path)
    elif path.exists():
        path.unlink()
        log.info("autostart entry removed: %s", path)
    return path
