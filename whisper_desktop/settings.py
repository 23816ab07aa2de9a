"""The settings model: a dataclass, its keys as an Enum, QSettings persistence, command-line
overrides, and the one mapping from settings to the engine host's configuration.

The dialog that edits them is :mod:`whisper_desktop.widgets.settings_dialog`.
"""

from __future__ import annotations

import dataclasses
import locale
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from server_core.languages import language_of_locale
from whisper_desktop.host import HostConfig
from whisper_desktop.paths import SETTINGS_FILE_NAME

log = logging.getLogger(__name__)

DEFAULT_MODEL = "base"
DEFAULT_LANGUAGE = "de"  # the reference system's; a first start takes the system locale's
DEFAULT_PORT = 9000
DEFAULT_DEVICE = "auto"  # the GPU where CUDA works, else the CPU
LOOPBACK_HOST = "127.0.0.1"
SYSTEM_DEFAULT = ""  # a device setting of "" means the system's default device


class Key(str, Enum):
    """Every persisted setting; the value is its QSettings key."""

    MODEL = "engine/model"
    LANGUAGE = "engine/language"
    DEVICE = "engine/device"
    FINAL_PASS = "engine/final_pass"
    MIC_ENABLED = "capture/mic_enabled"
    MIC_DEVICE = "capture/mic_device"
    SYSTEM_ENABLED = "capture/system_enabled"
    MIC_TASK = "capture/mic_task"
    SYSTEM_TASK = "capture/system_task"
    LOOPBACK_SPEAKER = "capture/loopback_speaker"
    ECHO_CANCELLATION = "capture/echo_cancellation"
    SERVER_ENABLED = "server/enabled"
    HOST = "server/host"
    PORT = "server/port"
    LAN_ENABLED = "server/lan_enabled"
    TOKEN = "server/token"
    TLS_ENABLED = "server/tls"
    TLS_CERTFILE = "server/certfile"
    TLS_KEYFILE = "server/keyfile"
    SHOW_CAPTIONS = "overlay/visible"
    OVERLAY_FONT_FAMILY = "overlay/font_family"
    OVERLAY_FONT_SIZE = "overlay/font_size"
    OVERLAY_OPACITY = "overlay/opacity"
    OVERLAY_CLICK_THROUGH = "overlay/click_through"
    OVERLAY_USER_COLOR = "overlay/user_color"
    OVERLAY_SYSTEM_COLOR = "overlay/system_color"
    OVERLAY_FADE_SECONDS = "overlay/fade_seconds"
    OVERLAY_GEOMETRY = "overlay/geometry"
    OVERLAY_CLEAR_SECONDS = "overlay/clear_seconds"
    OVERLAY_POSITIONS = "overlay/positions"
    OVERLAY_SCREEN = "overlay/screen"
    OVERLAY_LINES = "overlay/lines"
    OVERLAY_OUTLINE_WIDTH = "overlay/outline_width"
    OVERLAY_OUTLINE_COLOR = "overlay/outline_color"
    OVERLAY_BACKGROUND_COLOR = "overlay/background_color"
    SCROLLBACK_MINUTES = "scrollback/minutes"
    SCROLLBACK_SCREEN = "scrollback/screen"
    LIVE_TEXT_ENABLED = "live_text/enabled"
    LIVE_TEXT_FOLDER = "live_text/folder"
    HISTORY_ENABLED = "history/enabled"
    AUTOSTART = "session/autostart"


def first_run_language(environ: Mapping[str, str] | None = None) -> str:
    """The system locale's language: the first of LANGUAGE (a list, as gettext reads it),
    LC_ALL, LC_MESSAGES and LANG that names a Whisper language, else the platform's locale
    (Windows and macOS rarely set these), else the project default."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for value in env.get(var, "").split(":"):
            if language := language_of_locale(value):
                return language
    if environ is None:
        try:
            platform_locale = locale.getlocale()[0]
        except ValueError:
            platform_locale = None
        if language := language_of_locale(platform_locale):
            return language
    return DEFAULT_LANGUAGE


def new_token() -> str:
    return secrets.token_urlsafe(16)


def _key(k: Key) -> dict[str, Key]:
    return {"key": k}


@dataclass
class Settings:
    model: str = field(default=DEFAULT_MODEL, metadata=_key(Key.MODEL))
    language: str = field(default=DEFAULT_LANGUAGE, metadata=_key(Key.LANGUAGE))
    device: str = field(default=DEFAULT_DEVICE, metadata=_key(Key.DEVICE))  # auto|cpu|cuda[:N]
    # a second, offline-style pass over each finished utterance replaces its live text
    final_pass: bool = field(default=False, metadata=_key(Key.FINAL_PASS))
    mic_enabled: bool = field(default=True, metadata=_key(Key.MIC_ENABLED))
    mic_device: str = field(default=SYSTEM_DEFAULT, metadata=_key(Key.MIC_DEVICE))
    system_enabled: bool = field(default=True, metadata=_key(Key.SYSTEM_ENABLED))
    loopback_speaker: str = field(default=SYSTEM_DEFAULT, metadata=_key(Key.LOOPBACK_SPEAKER))
    # per source: "transcribe", or "translate" (into English), e.g. a foreign call translated
    mic_task: str = field(default="transcribe", metadata=_key(Key.MIC_TASK))
    system_task: str = field(default="transcribe", metadata=_key(Key.SYSTEM_TASK))
    # the microphone hears the speakers: cancel that echo, with the system audio as reference
    echo_cancellation: bool = field(default=True, metadata=_key(Key.ECHO_CANCELLATION))
    server_enabled: bool = field(default=True, metadata=_key(Key.SERVER_ENABLED))
    host: str = field(default=LOOPBACK_HOST, metadata=_key(Key.HOST))
    port: int = field(default=DEFAULT_PORT, metadata=_key(Key.PORT))
    lan_enabled: bool = field(default=False, metadata=_key(Key.LAN_ENABLED))
    token: str = field(default="", metadata=_key(Key.TOKEN))
    # HTTPS/WSS off loopback (phones need it for the microphone); off = plain, with a warning
    tls_enabled: bool = field(default=True, metadata=_key(Key.TLS_ENABLED))
    tls_certfile: str = field(default="", metadata=_key(Key.TLS_CERTFILE))  # "" = self-signed
    tls_keyfile: str = field(default="", metadata=_key(Key.TLS_KEYFILE))  # "" = in certfile
    show_captions: bool = field(default=True, metadata=_key(Key.SHOW_CAPTIONS))
    overlay_font_family: str = field(default="DejaVu Sans", metadata=_key(Key.OVERLAY_FONT_FAMILY))
    overlay_font_size: int = field(default=20, metadata=_key(Key.OVERLAY_FONT_SIZE))
    overlay_opacity: float = field(default=0.85, metadata=_key(Key.OVERLAY_OPACITY))
    overlay_click_through: bool = field(default=False, metadata=_key(Key.OVERLAY_CLICK_THROUGH))
    overlay_user_color: str = field(default="#4da6ff", metadata=_key(Key.OVERLAY_USER_COLOR))
    overlay_system_color: str = field(default="#ffd633", metadata=_key(Key.OVERLAY_SYSTEM_COLOR))
    overlay_fade_seconds: float = field(default=12.0, metadata=_key(Key.OVERLAY_FADE_SECONDS))
    overlay_geometry: tuple[int, int, int, int] | None = field(
        default=None, metadata=_key(Key.OVERLAY_GEOMETRY)
    )
    overlay_clear_seconds: float = field(default=10.0, metadata=_key(Key.OVERLAY_CLEAR_SECONDS))
    # one position per screen, JSON {screen key: [x, y, w, h]} (whisper_desktop/overlay_placement)
    overlay_positions: str = field(default="", metadata=_key(Key.OVERLAY_POSITIONS))
    overlay_screen: str = field(default="", metadata=_key(Key.OVERLAY_SCREEN))  # its last screen
    overlay_lines: int = field(default=2, metadata=_key(Key.OVERLAY_LINES))  # per source, 1-6
    overlay_outline_width: int = field(default=0, metadata=_key(Key.OVERLAY_OUTLINE_WIDTH))
    overlay_outline_color: str = field(default="#000000", metadata=_key(Key.OVERLAY_OUTLINE_COLOR))
    overlay_background_color: str = field(
        default="#101014", metadata=_key(Key.OVERLAY_BACKGROUND_COLOR)
    )
    scrollback_minutes: int = field(default=10, metadata=_key(Key.SCROLLBACK_MINUTES))
    # the screen the scrollback goes full screen on, by name; "" = the one it is on
    scrollback_screen: str = field(default="", metadata=_key(Key.SCROLLBACK_SCREEN))
    # a text file per source with its last finished lines, for OBS (whisper_desktop/live_text)
    live_text_enabled: bool = field(default=False, metadata=_key(Key.LIVE_TEXT_ENABLED))
    live_text_folder: str = field(default="", metadata=_key(Key.LIVE_TEXT_FOLDER))
    history_enabled: bool = field(default=True, metadata=_key(Key.HISTORY_ENABLED))
    # an XDG autostart entry is written while this is on (whisper_desktop/autostart.py)
    autostart: bool = field(default=False, metadata=_key(Key.AUTOSTART))

    @property
    def bind_host(self) -> str:
        """The address the server listens on: every interface when LAN access is on."""
        if self.lan_enabled and self.host in (LOOPBACK_HOST, "localhost", ""):
            return "0.0.0.0"
        return self.host or LOOPBACK_HOST

    @property
    def effective_language(self) -> str:
        """English-only models (``*.en``) always transcribe English."""
        return "en" if self.model.endswith(".en") else self.language

    def host_config(self, tls_dir: str = "") -> HostConfig:
        """What the engine host runs with: the one place settings become engine and server
        options. ``tls_dir``: where a self-signed certificate is kept (the app's data folder)."""
        return HostConfig(
            model=self.model,
            language=self.effective_language,
            device=self.device or DEFAULT_DEVICE,
            final_pass=self.final_pass,
            server_enabled=self.server_enabled,
            host=self.bind_host,
            port=self.port,
            token=self.token,
            tls_enabled=self.tls_enabled,
            tls_certfile=self.tls_certfile,
            tls_keyfile=self.tls_keyfile,
            tls_dir=tls_dir,
        )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def changed_fields(self, other: Settings) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}


SERVER_FIELDS = {"server_enabled", "host", "port", "lan_enabled", "token"}
OVERLAY_FIELDS = {
    "show_captions",
    "overlay_font_family",
    "overlay_font_size",
    "overlay_opacity",
    "overlay_click_through",
    "overlay_user_color",
    "overlay_system_color",
    "overlay_fade_seconds",
    "overlay_clear_seconds",
    "overlay_lines",
    "overlay_outline_width",
    "overlay_outline_color",
    "overlay_background_color",
}
SCROLLBACK_FIELDS = {
    "scrollback_minutes",
    "scrollback_screen",
    "overlay_font_family",
    "overlay_font_size",
}
LIVE_TEXT_FIELDS = {"live_text_enabled", "live_text_folder", "overlay_lines"}


@dataclass(frozen=True)
class Overrides:
    """Command-line overrides; they apply to this run and are not saved."""

    model: str | None = None
    language: str | None = None
    device: str | None = None
    port: int | None = None
    no_server: bool = False
    no_final_pass: bool = False

    def apply(self, s: Settings) -> Settings:
        changes: dict[str, Any] = {}
        if self.model:
            changes["model"] = self.model
        if self.language:
            changes["language"] = self.language
        if self.device:
            changes["device"] = self.device
        if self.port is not None:
            changes["port"] = self.port
        if self.no_server:
            changes["server_enabled"] = False
        if self.no_final_pass:
            changes["final_pass"] = False
        return s.replace(**changes)


# -- persistence -------------------------------------------------------------------------------


def open_qsettings(data_dir: Path | None) -> QSettings:
    """An INI file inside ``--data-dir`` when given, else the platform's native store."""
    if data_dir is not None:
        return QSettings(str(data_dir / SETTINGS_FILE_NAME), QSettings.Format.IniFormat)
    return QSettings("whisper-desktop", "whisper-desktop")


def _to_bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "on")
    return bool(v)


def _convert(name: str, default: Any, raw: Any) -> Any:
    if isinstance(default, bool):
        return _to_bool(raw)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if name == "overlay_geometry":
        parts = raw.split(",") if isinstance(raw, str) else list(raw)
        x, y, w, h = (int(p) for p in parts)
        return (x, y, w, h)
    return str(raw)


def load_settings(qs: QSettings) -> Settings:
    """Read every key; a missing or unreadable value keeps its default. A token is created once."""
    s = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key: Key = f.metadata["key"]
        if not qs.contains(key.value):
            continue
        raw = qs.value(key.value)
        try:
            values[f.name] = _convert(f.name, getattr(s, f.name), raw)
        except (TypeError, ValueError):
            log.warning("ignoring bad setting %s=%r", key.value, raw)
    s = s.replace(**values)
    if not qs.contains(Key.LANGUAGE.value):  # the first start: the system's language, kept
        s = s.replace(language=first_run_language())
        qs.setValue(Key.LANGUAGE.value, s.language)
        qs.sync()
    if not s.token:
        s = s.replace(token=new_token())
        qs.setValue(Key.TOKEN.value, s.token)
        qs.sync()
    return s


def save_settings(qs: QSettings, s: Settings) -> None:
    for f in fields(Settings):
        key: Key = f.metadata["key"]
        value = getattr(s, f.name)
        if value is None:
            qs.remove(key.value)
        elif f.name == "overlay_geometry":
            qs.setValue(key.value, ",".join(str(int(v)) for v in value))
        else:
            qs.setValue(key.value, value)
    qs.sync()
