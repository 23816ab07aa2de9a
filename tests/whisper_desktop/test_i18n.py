"""The UI in German: a German locale installs the shipped translation, English stays English."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from tests.support.app_process import app_settled
from whisper_desktop.i18n import install_translators, translations_dir, ui_language
from whisper_desktop.settings import Settings
from whisper_desktop.widgets.history_window import HistoryWindow
from whisper_desktop.widgets.settings_dialog import SettingsDialog
from whisper_desktop.widgets.tray import AppActions, StatusInfo, TrayState


def test_ui_language_from_the_locale() -> None:
    assert ui_language({"LANG": "de_DE.UTF-8"}) == "de"
    assert ui_language({"LANG": "en_US.UTF-8"}) == "en"
    assert ui_language({"LANGUAGE": "de:en", "LANG": "en_US.UTF-8"}) == "de"
    assert ui_language({"LC_ALL": "C", "LANG": "de_DE.UTF-8"}) == "en"
    assert ui_language({"WHISPER_DESKTOP_UI_LANGUAGE": "en", "LANG": "de_DE.UTF-8"}) == "en"
    assert ui_language({}) == "en"


def test_the_german_translation_is_shipped_compiled() -> None:
    qm = translations_dir() / "whisper_desktop_de.qm"
    assert qm.is_file() and qm.stat().st_size > 1000
    # every string collected is translated
    ts = (translations_dir() / "whisper_desktop_de.ts").read_text(encoding="utf-8")
    assert "<source>" in ts and 'type="unfinished"' not in ts


@pytest.fixture()
def language(qapp):
    installed: list = []

    def use(lang: str) -> list:
        installed.extend(install_translators(qapp, lang))
        return installed

    yield use
    for t in installed:
        QApplication.instance().removeTranslator(t)


def _menu_texts() -> list[str]:
    actions = AppActions()
    return [a.text() for a in actions.menu_layout() if a is not None]


def test_german_locale_gives_a_german_menu_and_settings_dialog(qtbot, language, store) -> None:
    assert language(ui_language({"LANG": "de_DE.UTF-8"}))
    assert _menu_texts()[1:] == [
        "Mikrofon",
        "Systemton",
        "Untertitel anzeigen",
        "Transkript-Verlauf …",
        "Untertitel-Rückblick …",
        "Gerät verbinden …",
        "Einstellungen …",
        "Beenden",
    ]
    assert StatusInfo(TrayState.LISTENING).title() == "Whisper Desktop – hört zu"
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Whisper Desktop – Einstellungen"
    assert dialog.autostart.text() == "Whisper Desktop bei der Anmeldung starten"
    assert dialog.mic_task.itemText(0) == "Wie gesprochen"
    assert dialog.live_text_enabled.text() == "Live-Textdateien schreiben (für OBS)"
    assert dialog.outline_width.specialValueText() == "aus (ein Schatten)"
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "Abbrechen"
    history = HistoryWindow(store)
    qtbot.addWidget(history)
    assert history.windowTitle() == "Transkript-Verlauf"
    assert history.copy_button.text() == "Kopieren"


def test_english_locale_keeps_english(qtbot, language) -> None:
    assert language(ui_language({"LANG": "en_US.UTF-8"})) == []
    assert _menu_texts()[1:4] == ["Microphone", "System audio", "Show captions"]
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Whisper Desktop settings"
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "Cancel"


@pytest.mark.parametrize(
    ("lang", "title"),
    [("de_DE.UTF-8", "Whisper Desktop – Problem"), ("en_US.UTF-8", "Whisper Desktop — problem")],
)
def test_the_app_starts_in_the_locales_language(tmp_path: Path, lang: str, title: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env.update(QT_QPA_PLATFORM="offscreen", LANG=lang)
    with app_settled(tmp_path / "data", tmp_path / "state.json", env) as st:
        assert st["tooltip"].splitlines()[0] == title
