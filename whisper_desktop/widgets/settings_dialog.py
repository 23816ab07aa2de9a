"""The settings dialog: edits a copy of :class:`whisper_desktop.settings.Settings`.

Models are offered from openai-whisper's own list, each saying whether it is installed, its size
and whether it is English-only; languages by name; devices by description. What is stored is the
model spec, the language code and the device name, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication
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
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from server_core.languages import AUTO, language_choices, normalize_language
from server_core.model_names import is_english_only
from whisper_desktop.model_catalog import InstalledLister, model_choices
from whisper_desktop.settings import LOOPBACK_HOST, SYSTEM_DEFAULT, Settings, new_token
from whisper_desktop.widgets.outlined_text import MAX_OUTLINE
from whisper_desktop.widgets.overlay import MAX_LINES, MIN_LINES
from whisper_desktop.widgets.scrollback_lines import MAX_MINUTES, MIN_MINUTES

log = logging.getLogger(__name__)

COMPUTE_DEVICES = (
    ("auto", QT_TRANSLATE_NOOP("SettingsDialog", "Automatic (the GPU where CUDA works)")),
    ("cpu", QT_TRANSLATE_NOOP("SettingsDialog", "CPU")),
    ("cuda", QT_TRANSLATE_NOOP("SettingsDialog", "NVIDIA GPU (CUDA)")),
)

DeviceLister = Callable[[], Sequence[str | tuple[str, str]]]  # names, or (name, description)


# (the settings the dialog started from, the edited ones) -> whether they were applied
Applier = Callable[[Settings, Settings], bool]

TASK_CHOICES = (
    ("transcribe", QT_TRANSLATE_NOOP("SettingsDialog", "As spoken")),
    ("translate", QT_TRANSLATE_NOOP("SettingsDialog", "Translated into English")),
)


def _tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialog", text)


def _task_box(task: str) -> QComboBox:
    box = QComboBox()
    for code, label in TASK_CHOICES:
        box.addItem(_tr(label), code)
    box.setCurrentIndex(max(0, box.findData(task)))
    return box


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
        ink = "black" if QColor(self._color).lightness() >= 128 else "white"
        self.setStyleSheet(f"background-color: {self._color}; color: {ink};")
        self.color_changed.emit(self._color)

    def _pick(self) -> None:
        chosen = QColorDialog.getColor(QColor(self._color), self, self.tr("Choose a colour"))
        if chosen.isValid():
            self.set_color(chosen.name())


def _fill_devices(combo: QComboBox, devices: Sequence[str | tuple[str, str]], current: str) -> None:
    combo.addItem(QCoreApplication.translate("SettingsDialog", "System default"), SYSTEM_DEFAULT)
    for device in devices:
        name, description = (device, device) if isinstance(device, str) else device
        combo.addItem(description or name, name)
        if description and description != name:
            combo.setItemData(combo.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
    if current and combo.findData(current) < 0:
        combo.addItem(
            QCoreApplication.translate("SettingsDialog", "%1 (not connected)").replace(
                "%1", current
            ),
            current,
        )
    combo.setCurrentIndex(max(0, combo.findData(current)))


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` gives the edited copy."""

    def __init__(
        self,
        settings: Settings,
        list_inputs: DeviceLister | None = None,
        list_speakers: DeviceLister | None = None,
        parent: QWidget | None = None,
        list_installed: InstalledLister | None = None,
        applier: Applier | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Whisper Desktop settings"))
        self._initial = settings
        self._applier = applier
        inputs = _safe_list(list_inputs)
        speakers = _safe_list(list_speakers)

        # Transcription
        self.model = QComboBox(editable=True)
        for choice in model_choices(_safe_installed(list_installed)):
            self.model.addItem(choice.label, choice.name)
            self.model.setItemData(
                self.model.count() - 1, choice.tooltip, Qt.ItemDataRole.ToolTipRole
            )
        listed_model = self.model.findData(settings.model)
        if listed_model >= 0:
            self.model.setCurrentIndex(listed_model)
        else:
            self.model.setEditText(settings.model)
        self.model.setToolTip(
            self.tr("An official Whisper model name, a .pt checkpoint or a model folder")
        )
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.language = QComboBox(editable=True)
        for code, name in language_choices():
            self.language.addItem(name if code == AUTO else f"{name} ({code})", code)
        self.language.setToolTip(self.tr("A language by name or by code, or automatic detection"))
        known = self.language.findData(settings.language)
        if known >= 0:
            self.language.setCurrentIndex(known)
        else:
            self.language.setEditText(settings.language)
        self.language_note = QLabel(self.tr("English-only model: the language setting is not used"))
        self.language_note.setWordWrap(True)
        self.device = QComboBox()
        for code, label in COMPUTE_DEVICES:
            self.device.addItem(_tr(label), code)
        if self.device.findData(settings.device) < 0:  # e.g. cuda:1, set on the command line
            self.device.addItem(settings.device, settings.device)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.device.setToolTip(self.tr("Where the model runs; a change applies at the next start"))
        self.final_pass = QCheckBox(self.tr("Correct each finished line (a second, slower pass)"))
        self.final_pass.setChecked(settings.final_pass)
        self.final_pass.setToolTip(
            self.tr(
                "Decodes each finished utterance again, whole, when the computer has time, and "
                "replaces its live text; a change applies at the next start"
            )
        )
        engine_box = QGroupBox(self.tr("Transcription"))
        ef = QFormLayout(engine_box)
        ef.addRow(self.tr("Model"), model_row)
        ef.addRow(self.tr("Language"), self.language)
        ef.addRow("", self.language_note)
        ef.addRow(self.tr("Device"), self.device)
        ef.addRow(self.final_pass)
        self.model.currentTextChanged.connect(self._model_changed)
        self._model_changed()

        # Audio
        self.mic_enabled = QCheckBox(self.tr("Caption the microphone"))
        self.mic_enabled.setChecked(settings.mic_enabled)
        self.mic_device = QComboBox()
        _fill_devices(self.mic_device, inputs, settings.mic_device)
        self.system_enabled = QCheckBox(self.tr("Caption the system audio"))
        self.system_enabled.setChecked(settings.system_enabled)
        self.loopback_speaker = QComboBox()
        _fill_devices(self.loopback_speaker, speakers, settings.loopback_speaker)
        self.mic_task = _task_box(settings.mic_task)
        self.system_task = _task_box(settings.system_task)
        self.echo_cancellation = QCheckBox(
            self.tr("Echo cancellation: keep the speakers out of the microphone")
        )
        self.echo_cancellation.setChecked(settings.echo_cancellation)
        self.echo_cancellation.setToolTip(
            self.tr(
                "Without headphones the microphone hears what the speakers play. This removes "
                "it, using the system audio, so each sentence is captioned once. Headphones "
                "still help."
            )
        )
        audio_box = QGroupBox(self.tr("Audio"))
        af = QFormLayout(audio_box)
        af.addRow(self.mic_enabled)
        af.addRow(self.tr("Microphone"), self.mic_device)
        af.addRow(self.tr("Its text"), self.mic_task)
        af.addRow(self.system_enabled)
        af.addRow(self.tr("Speaker to capture"), self.loopback_speaker)
        af.addRow(self.tr("Its text"), self.system_task)
        af.addRow(self.echo_cancellation)

        # History
        self.history_enabled = QCheckBox(self.tr("Keep a transcript history on this computer"))
        self.history_enabled.setChecked(settings.history_enabled)
        self.history_enabled.setToolTip(
            self.tr("Off: nothing said from now on is saved; what is saved already stays")
        )
        self.autostart = QCheckBox(self.tr("Start Whisper Desktop when I log in"))
        self.autostart.setChecked(settings.autostart)
        self.autostart.setToolTip(
            self.tr("Adds Whisper Desktop to the desktop session's autostart")
        )
        history_box = QGroupBox(self.tr("History and start"))
        hl = QVBoxLayout(history_box)
        hl.addWidget(self.history_enabled)
        hl.addWidget(self.autostart)

        # Server
        self.server_enabled = QCheckBox(self.tr("Accept remote clients (WebSocket server)"))
        self.server_enabled.setChecked(settings.server_enabled)
        self.host = QLineEdit(settings.host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(settings.port)
        self.lan_enabled = QCheckBox(
            self.tr("Allow devices on the local network (needs the token)")
        )
        self.lan_enabled.setChecked(settings.lan_enabled)
        self.token = QLineEdit(settings.token)
        self.token.setReadOnly(True)
        regenerate = QPushButton(self.tr("Regenerate"))
        regenerate.clicked.connect(self.regenerate_token)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        token_row.addWidget(regenerate)
        self.tls_enabled = QCheckBox(self.tr("Encrypt connections from other devices (HTTPS/WSS)"))
        self.tls_enabled.setToolTip(
            self.tr(
                "Phones get the microphone only on secure pages. Without a certificate of your"
                " own the app makes a self-signed one; its fingerprint is in Connect a device."
            )
        )
        self.tls_enabled.setChecked(settings.tls_enabled)
        self.tls_certfile = QLineEdit(settings.tls_certfile, placeholderText=self.tr("self-signed"))
        self.tls_keyfile = QLineEdit(
            settings.tls_keyfile, placeholderText=self.tr("in the certificate")
        )
        server_box = QGroupBox(self.tr("Server"))
        sf = QFormLayout(server_box)
        sf.addRow(self.server_enabled)
        sf.addRow(self.tr("Host"), self.host)
        sf.addRow(self.tr("Port"), self.port)
        sf.addRow(self.lan_enabled)
        sf.addRow(self.tr("Token"), token_row)
        sf.addRow(self.tls_enabled)
        sf.addRow(self.tr("Certificate (PEM)"), self.tls_certfile)
        sf.addRow(self.tr("Key (PEM)"), self.tls_keyfile)

        # Overlay
        self.font_family = QFontComboBox()
        self.font_family.setCurrentFont(QFont(settings.overlay_font_family))
        self.font_size = QSpinBox()
        self.font_size.setRange(8, 96)
        self.font_size.setValue(settings.overlay_font_size)
        self.opacity = QDoubleSpinBox()
        self.opacity.setRange(0.0, 1.0)
        self.opacity.setSingleStep(0.05)
        self.opacity.setValue(settings.overlay_opacity)
        self.click_through = QCheckBox(self.tr("Clicks pass through the captions"))
        self.click_through.setChecked(settings.overlay_click_through)
        self.user_color = ColorButton(settings.overlay_user_color)
        self.system_color = ColorButton(settings.overlay_system_color)
        self.fade_seconds = QDoubleSpinBox()
        self.fade_seconds.setRange(0.0, 600.0)
        self.fade_seconds.setSuffix(self.tr(" s"))
        self.fade_seconds.setSpecialValueText(self.tr("never"))
        self.fade_seconds.setValue(settings.overlay_fade_seconds)
        self.clear_seconds = QDoubleSpinBox()
        self.clear_seconds.setRange(0.0, 600.0)
        self.clear_seconds.setSuffix(self.tr(" s"))
        self.clear_seconds.setSpecialValueText(self.tr("never"))
        self.clear_seconds.setValue(settings.overlay_clear_seconds)
        self.clear_seconds.setToolTip(
            self.tr("A source's line clears this long after its last words")
        )
        self.lines = QSpinBox()
        self.lines.setRange(MIN_LINES, MAX_LINES)
        self.lines.setValue(max(MIN_LINES, min(MAX_LINES, settings.overlay_lines)))
        self.outline_width = QSpinBox()
        self.outline_width.setRange(0, MAX_OUTLINE)
        self.outline_width.setSuffix(self.tr(" px"))
        self.outline_width.setSpecialValueText(self.tr("off (a shadow)"))
        self.outline_width.setValue(settings.overlay_outline_width)
        self.outline_width.setToolTip(self.tr("A border around each letter, readable over video"))
        self.outline_color = ColorButton(settings.overlay_outline_color)
        self.background_color = ColorButton(settings.overlay_background_color)
        overlay_box = QGroupBox(self.tr("Captions"))
        of = QFormLayout(overlay_box)
        of.addRow(self.tr("Font"), self.font_family)
        of.addRow(self.tr("Size"), self.font_size)
        of.addRow(self.tr("Lines per source"), self.lines)
        of.addRow(self.tr("Text outline"), self.outline_width)
        of.addRow(self.tr("Outline colour"), self.outline_color)
        of.addRow(self.tr("Background colour"), self.background_color)
        of.addRow(self.tr("Background opacity"), self.opacity)
        of.addRow(self.click_through)
        of.addRow(self.tr("Microphone colour"), self.user_color)
        of.addRow(self.tr("System audio colour"), self.system_color)
        of.addRow(self.tr("Clear a line after"), self.clear_seconds)
        of.addRow(self.tr("Fade when idle after"), self.fade_seconds)

        # Scrollback and live text files
        self.scrollback_minutes = QSpinBox()
        self.scrollback_minutes.setRange(MIN_MINUTES, MAX_MINUTES)
        self.scrollback_minutes.setSuffix(self.tr(" min"))
        self.scrollback_minutes.setValue(settings.scrollback_minutes)
        self.scrollback_screen = QComboBox()
        self.scrollback_screen.addItem(self.tr("The screen it is on"), "")
        for screen in QGuiApplication.screens():
            g = screen.geometry()
            self.scrollback_screen.addItem(
                f"{screen.name()} ({g.width()}×{g.height()})", screen.name()
            )
        if self.scrollback_screen.findData(settings.scrollback_screen) < 0:
            self.scrollback_screen.addItem(
                _tr("%1 (not connected)").replace("%1", settings.scrollback_screen),
                settings.scrollback_screen,
            )
        self.scrollback_screen.setCurrentIndex(
            max(0, self.scrollback_screen.findData(settings.scrollback_screen))
        )
        self.live_text_enabled = QCheckBox(self.tr("Write live text files (for OBS)"))
        self.live_text_enabled.setToolTip(
            self.tr("One file per source, captions-You.txt …, with its last finished lines")
        )
        self.live_text_enabled.setChecked(settings.live_text_enabled)
        self.live_text_folder = QLineEdit(
            settings.live_text_folder, placeholderText=self.tr("the app's data folder")
        )
        pick_folder = QPushButton(self.tr("Browse…"))
        pick_folder.clicked.connect(self._browse_live_text_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.live_text_folder, 1)
        folder_row.addWidget(pick_folder)
        self.live_text_enabled.toggled.connect(self.live_text_folder.setEnabled)
        self.live_text_enabled.toggled.connect(pick_folder.setEnabled)
        self.live_text_folder.setEnabled(settings.live_text_enabled)
        pick_folder.setEnabled(settings.live_text_enabled)
        streams_box = QGroupBox(self.tr("Scrollback and streaming"))
        stf = QFormLayout(streams_box)
        stf.addRow(self.tr("Scrollback keeps"), self.scrollback_minutes)
        stf.addRow(self.tr("Full screen on"), self.scrollback_screen)
        stf.addRow(self.live_text_enabled)
        stf.addRow(self.tr("Folder"), folder_row)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        self.buttons = buttons

        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(engine_box)
        left.addWidget(audio_box)
        left.addWidget(history_box)
        left.addWidget(streams_box)
        left.addStretch(1)
        right.addWidget(server_box)
        right.addWidget(overlay_box)
        right.addStretch(1)
        columns.addLayout(left)
        columns.addLayout(right)
        root = QVBoxLayout(self)
        root.addLayout(columns)
        root.addWidget(buttons)

    def apply(self) -> bool:
        """Apply what was edited and keep the dialog open; False if the applier declined
        (e.g. the user chose not to drop connected clients)."""
        if self._applier is None:
            return True
        edited = self.result_settings()
        if not self._applier(self._initial, edited):
            return False
        self._initial = edited  # what the next Apply compares against
        return True

    def accept(self) -> None:
        if self.apply():
            super().accept()

    def model_spec(self) -> str:
        """The chosen model: a listed entry's name, or what was typed (a name or a path)."""
        text = self.model.currentText().strip()
        listed = self.model.findText(text)
        if listed >= 0:
            return str(self.model.itemData(listed))
        return text

    def _model_changed(self) -> None:
        english_only = is_english_only(self.model_spec())
        self.language.setEnabled(not english_only)
        self.language_note.setVisible(english_only)

    def language_code(self) -> str:
        """The code of the chosen language: a listed entry, or a code or name typed in."""
        text = self.language.currentText().strip()
        if not text:
            return AUTO
        listed = self.language.findText(text)
        if listed >= 0:
            return str(self.language.itemData(listed))
        try:
            return normalize_language(text)
        except ValueError:
            return text  # the engine says what is wrong with it when it is applied

    def regenerate_token(self) -> None:
        self.token.setText(new_token())

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Choose a Whisper checkpoint"),
            "",
            self.tr("Whisper checkpoints (*.pt);;All files (*)"),
        )
        if path:
            self.model.setCurrentText(path)

    def _browse_live_text_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose a folder for the live text files"), self.live_text_folder.text()
        )
        if folder:
            self.live_text_folder.setText(folder)

    def result_settings(self) -> Settings:
        return self._initial.replace(
            model=self.model_spec() or self._initial.model,
            language=self.language_code(),
            device=self.device.currentData() or self._initial.device,
            mic_enabled=self.mic_enabled.isChecked(),
            mic_task=self.mic_task.currentData() or "transcribe",
            system_task=self.system_task.currentData() or "transcribe",
            mic_device=self.mic_device.currentData() or SYSTEM_DEFAULT,
            system_enabled=self.system_enabled.isChecked(),
            loopback_speaker=self.loopback_speaker.currentData() or SYSTEM_DEFAULT,
            echo_cancellation=self.echo_cancellation.isChecked(),
            server_enabled=self.server_enabled.isChecked(),
            host=self.host.text().strip() or LOOPBACK_HOST,
            port=self.port.value(),
            lan_enabled=self.lan_enabled.isChecked(),
            token=self.token.text(),
            tls_enabled=self.tls_enabled.isChecked(),
            tls_certfile=self.tls_certfile.text().strip(),
            tls_keyfile=self.tls_keyfile.text().strip(),
            overlay_font_family=self.font_family.currentFont().family(),
            overlay_font_size=self.font_size.value(),
            overlay_opacity=round(self.opacity.value(), 2),
            overlay_click_through=self.click_through.isChecked(),
            overlay_user_color=self.user_color.color(),
            overlay_system_color=self.system_color.color(),
            overlay_fade_seconds=self.fade_seconds.value(),
            overlay_clear_seconds=self.clear_seconds.value(),
            overlay_lines=self.lines.value(),
            overlay_outline_width=self.outline_width.value(),
            overlay_outline_color=self.outline_color.color(),
            overlay_background_color=self.background_color.color(),
            scrollback_minutes=self.scrollback_minutes.value(),
            scrollback_screen=self.scrollback_screen.currentData() or "",
            live_text_enabled=self.live_text_enabled.isChecked(),
            live_text_folder=self.live_text_folder.text().strip(),
            history_enabled=self.history_enabled.isChecked(),
            autostart=self.autostart.isChecked(),
            final_pass=self.final_pass.isChecked(),
        )


def _safe_installed(lister: InstalledLister | None) -> dict[str, str]:
    if lister is None:
        return {}
    try:
        return dict(lister())
    except Exception as exc:  # an unreadable cache must not break the dialog
        log.warning("could not look for installed models: %s", exc)
        return {}


def _safe_list(lister: DeviceLister | None) -> list[str | tuple[str, str]]:
    if lister is None:
        return []
    try:
        return list(lister())
    except Exception as exc:  # a broken audio backend must not break the dialog
        log.warning("could not list audio devices: %s", exc)
        return []
