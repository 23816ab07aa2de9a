"""Which pip extra each command needs, and the one line that names a missing one.

A plain ``pip install whisper-desktop`` is the example client (numpy, websockets, soundfile,
soxr, sounddevice, soundcard); the server and the desktop come with extras. The check looks the
modules up without importing them, so it costs nothing and names every missing package at once.
"""

from __future__ import annotations

import importlib.util

# extra -> (module, the pip package that provides it)
EXTRA_MODULES: dict[str, tuple[tuple[str, str], ...]] = {
    "server": (
        ("torch", "torch"),
        ("whisper", "openai-whisper"),
        ("silero_vad", "silero-vad"),
        ("fastapi", "fastapi"),
        ("uvicorn", "uvicorn"),
        ("cryptography", "cryptography"),
    ),
    "desktop": (
        ("PySide6", "PySide6-Essentials"),
        ("qrcode", "qrcode"),
    ),
}
# the extras each includes (pyproject.toml: desktop = whisper-desktop[server,echo] + its own)
INCLUDES = {"desktop": ("server",)}


def missing_packages(extra: str) -> list[str]:
    """The pip packages of ``extra`` (and of the extras it includes) that are not installed."""
    names = [*INCLUDES.get(extra, ()), extra]
    return [
        package
        for name in names
        for module, package in EXTRA_MODULES[name]
        if importlib.util.find_spec(module) is None
    ]


def missing_extra_message(extra: str, what: str) -> str | None:
    """One line for people when ``what`` (a command) cannot run without ``extra``; else None."""
    missing = missing_packages(extra)
    if not missing:
        return None
    return (
        f"{what} needs the '{extra}' extra (missing: {', '.join(missing)}): "
        f"pip install 'whisper-desktop[{extra}]'"
    )
