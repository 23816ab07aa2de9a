"""Typed settings: a dataclass, keys as an Enum, persisted with QSettings, edited in a dialog."""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFontComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from whisper_desktop.paths import SETTINGS_FILE_NAME

log = logging.getLogger(__name__)

DEFAULT_MODEL = "base"
DEFAULT_PORT = 9000
LOOPBACK_HOST = "127.0.0.1"
KNOWN_MODELS = [
    "tiny",
    "tiny.en",
    "base",
    "base.en",
    "small",
    "small.en",
    "medium",
    "large-v3",
    "turbo",
]
KNOWN_LANGUAGES = [
    "auto",
    "en",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pt",
    "pl",
    "ru",
    "uk",
    "tr",
    "zh",
    "ja",
]
SYSTEM_DEFAULT = ""  # a device setting of "" means the system's default device


class Key(str, Enum):
    """Every persisted setting; the value is its QSettings key."""

    MODEL = "engine/model"
    LANGUAGE = "engine/language"
    MIC_ENABLED = "capture/mic_enabled"
    MIC_DEVICE = "capture/mic_device"
    SYSTEM_ENABLED = "capture/system_enabled"
    LOOPBACK_SPEAKER = "capture/loopback_speaker"
    SERVER_ENABLED = "server/enabled"
    HOST = "server/host"
    PORT = "server/port"
    LAN_ENABLED = "server/lan_enabled"
    TOKEN = "server/token"
    SHOW_CAPTIONS = "overlay/visible"
    OVERLAY_FONT_FAMILY = "overlay/font_family"
    OVERLAY_FONT_SIZE = "overlay/font_size"
    OVERLAY_OPACITY = "overlay/opacity"
    OVERLAY_CLICK_THROUGH = "overlay/click_through"
    OVERLAY_USER_COLOR = "overlay/user_color"
    OVERLAY_SYSTEM_COLOR = "overlay/system_color"
    OVERLAY_FADE_SECONDS = "overlay/fade_seconds"
    OVERLAY_GEOMETRY = "overlay/geometry"


def new_token() -> str:
    return secrets.token_urlsafe(16)


def _key(k: Key) -> dict[str, Key]:
    return {"key": k}


@dataclass
class Settings:
    model: str = field(default=DEFAULT_MODEL, metadata=_key(Key.MODEL))
    language: str = field(default="de", metadata=_key(Key.LANGUAGE))  # the project default
    mic_enabled: bool = field(default=True, metadata=_key(Key.MIC_ENABLED))
    mic_device: str = field(default=SYSTEM_DEFAULT, metadata=_key(Key.MIC_DEVICE))
    system_enabled: bool = field(default=True, metadata=_key(Key.SYSTEM_ENABLED))
    loopback_speaker: str = field(default=SYSTEM_DEFAULT, metadata=_key(Key.LOOPBACK_SPEAKER))
    server_enabled: bool = field(default=True, metadata=_key(Key.SERVER_ENABLED))
    host: str = field(default=LOOPBACK_HOST, metadata=_key(Key.HOST))
    port: int = field(default=DEFAULT_PORT, metadata=_key(Key.PORT))
    lan_enabled: bool = field(default=False, metadata=_key(Key.LAN_ENABLED))
    token: str = field(default="", metadata=_key(Key.TOKEN))
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

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def changed_fields(self, other: Settings) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}


ENGINE_FIELDS = {"model", "language"}
CAPTURE_FIELDS = {"mic_enabled", "mic_device", "system_enabled", "loopback_speaker"}
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
}


@dataclass(frozen=True)
class Overrides:
    """Command-line overrides; they apply to this run and are not saved."""

    model: str | None = None
    language: str | None = None
    port: int | None = None
    no_server: bool = False

    def apply(self, s: Settings) -> Settings:
        changes: dict[str, Any] = {}
        if self.model:
            changes["model"] = self.model
        if self.language:
            changes["language"] = self.language
        if self.port is not None:
            changes["port"] = self.port
        if self.no_server:
            changes["server_enabled"] = False
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


# -- dialog ------------------------------------------------------------------------------------

DeviceLister = Callable[[], Sequence[str]]


class ColorButton(QPushButton):
    """A button that shows a colour and opens a colour picker."""

    color_changed = Signal(str)

    def __init__(self, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._color = ""
        self.set_color(color)
        self.clicked.connect(self._pick)

    def color(self) -> str:
        return self._color

    def set_color(self, color: str) -> None:
        self._color = QColor(color).name()
        self.setText(self._color)
        self.setStyleSheet(f"background-color: {self._color}; color: black;")
        self.color_changed.emit(self._color)

    def _pick(self) -> None:
        chosen = QColorDialog.getColor(QColor(self._color), self, "Choose a colour")
        if chosen.isValid():
            self.set_color(chosen.name())


def _fill_devices(combo: QComboBox, names: Sequence[str], current: str) -> None:
    combo.addItem("System default", SYSTEM_DEFAULT)
    for name in names:
        combo.addItem(name, name)
    if current and combo.findData(current) < 0:
        combo.addItem(f"{current} (not connected)", current)
    combo.setCurrentIndex(max(0, combo.findData(current)))


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` gives the edited copy."""

    def __init__(
        self,
        settings: Settings,
        list_inputs: DeviceLister | None = None,
        list_speakers: DeviceLister | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Whisper Desktop settings")
        self._initial = settings
        inputs = _safe_list(list_inputs)
        speakers = _safe_list(list_speakers)

        # Transcription
        self.model = QComboBox(editable=True)
        self.model.addItems(KNOWN_MODELS)
        self.model.setCurrentText(settings.model)
        self.model.setToolTip("An official Whisper model name, a .pt checkpoint or a model folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.language = QComboBox(editable=True)
        self.language.addItems(KNOWN_LANGUAGES)
        self.language.setCurrentText(settings.language)
        engine_box = QGroupBox("Transcription")
        ef = QFormLayout(engine_box)
        ef.addRow("Model", model_row)
        ef.addRow("Language", self.language)

        # Audio
        self.mic_enabled = QCheckBox("Caption the microphone")
        self.mic_enabled.setChecked(settings.mic_enabled)
        self.mic_device = QComboBox()
        _fill_devices(self.mic_device, inputs, settings.mic_device)
        self.system_enabled = QCheckBox("Caption the system audio")
        self.system_enabled.setChecked(settings.system_enabled)
        self.loopback_speaker = QComboBox()
        _fill_devices(self.loopback_speaker, speakers, settings.loopback_speaker)
        audio_box = QGroupBox("Audio")
        af = QFormLayout(audio_box)
        af.addRow(self.mic_enabled)
        af.addRow("Microphone", self.mic_device)
        af.addRow(self.system_enabled)
        af.addRow("Speaker to capture", self.loopback_speaker)

        # Server
        self.server_enabled = QCheckBox("Accept remote clients (WebSocket server)")
        self.server_enabled.setChecked(settings.server_enabled)
        self.host = QLineEdit(settings.host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(settings.port)
        self.lan_enabled = QCheckBox("Allow devices on the local network (needs the token)")
        self.lan_enabled.setChecked(settings.lan_enabled)
        self.token = QLineEdit(settings.token)
        self.token.setReadOnly(True)
        regenerate = QPushButton("Regenerate")
        regenerate.clicked.connect(self.regenerate_token)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        token_row.addWidget(regenerate)
        server_box = QGroupBox("Server")
        sf = QFormLayout(server_box)
        sf.addRow(self.server_enabled)
        sf.addRow("Host", self.host)
        sf.addRow("Port", self.port)
        sf.addRow(self.lan_enabled)
        sf.addRow("Token", token_row)

        # Overlay
        self.font_family = QFontComboBox()
        self.font_family.setCurrentFont(QFont(settings.overlay_font_family))
        self.font_size = QSpinBox()
        self.font_size.setRange(8, 96)
        self.font_size.setValue(settings.overlay_font_size)
        self.opacity = QDoubleSpinBox()
        self.opacity.setRange(0.2, 1.0)
        self.opacity.setSingleStep(0.05)
        self.opacity.setValue(settings.overlay_opacity)
        self.click_through = QCheckBox("Clicks pass through the captions")
        self.click_through.setChecked(settings.overlay_click_through)
        self.user_color = ColorButton(settings.overlay_user_color)
        self.system_color = ColorButton(settings.overlay_system_color)
        self.fade_seconds = QDoubleSpinBox()
        self.fade_seconds.setRange(0.0, 600.0)
        self.fade_seconds.setSuffix(" s")
        self.fade_seconds.setSpecialValueText("never")
        self.fade_seconds.setValue(settings.overlay_fade_seconds)
        overlay_box = QGroupBox("Captions")
        of = QFormLayout(overlay_box)
        of.addRow("Font", self.font_family)
        of.addRow("Size", self.font_size)
        of.addRow("Background opacity", self.opacity)
        of.addRow(self.click_through)
        of.addRow("Microphone colour", self.user_color)
        of.addRow("System audio colour", self.system_color)
        of.addRow("Fade when idle after", self.fade_seconds)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(engine_box)
        left.addWidget(audio_box)
        left.addStretch(1)
        right.addWidget(server_box)
        right.addWidget(overlay_box)
        right.addStretch(1)
        columns.addLayout(left)
        columns.addLayout(right)
        root = QVBoxLayout(self)
        root.addLayout(columns)
        root.addWidget(buttons)

    def regenerate_token(self) -> None:
        self.token.setText(new_token())

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a Whisper checkpoint", "", "Whisper checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.model.setCurrentText(path)

    def result_settings(self) -> Settings:
        return self._initial.replace(
            model=self.model.currentText().strip() or self._initial.model,
            language=self.language.currentText().strip() or "auto",
            mic_enabled=self.mic_enabled.isChecked(),
            mic_device=self.mic_device.currentData() or SYSTEM_DEFAULT,
            system_enabled=self.system_enabled.isChecked(),
            loopback_speaker=self.loopback_speaker.currentData() or SYSTEM_DEFAULT,
            server_enabled=self.server_enabled.isChecked(),
            host=self.host.text().strip() or LOOPBACK_HOST,
            port=self.port.value(),
            lan_enabled=self.lan_enabled.isChecked(),
            token=self.token.text(),
            overlay_font_family=self.font_family.currentFont().family(),
            overlay_font_size=self.font_size.value(),
            overlay_opacity=round(self.opacity.value(), 2),
            overlay_click_through=self.click_through.isChecked(),
            overlay_user_color=self.user_color.color(),
            overlay_system_color=self.system_color.color(),
            overlay_fade_seconds=self.fade_seconds.value(),
        )


def _safe_list(lister: DeviceLister | None) -> list[str]:
    if lister is None:
        return []
    try:
        return list(lister())
    except Exception as exc:  # a broken audio backend must not break the dialog
        log.warning("could not list audio devices: %s", exc)
        return []
