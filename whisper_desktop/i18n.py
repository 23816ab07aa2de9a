"""The UI language and its Qt translators: the app's own (``whisper_desktop_<lang>.qm``, shipped
in resources/i18n) and Qt's for its standard buttons, when there are any."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

CATALOG = "whisper_desktop"
UI_LANGUAGE_ENV = "WHISPER_DESKTOP_UI_LANGUAGE"  # e.g. "de" or "en": overrides the locale
SOURCE_LANGUAGE = "en"  # the language the strings are written in


def translations_dir() -> Path:
    """resources/i18n as installed (``server_core.resources``); in a source tree other than the
    installed one (a worktree), the tree's own."""
    installed = Path(str(files("server_core.resources"))) / "i18n"
    here = Path(__file__).resolve().parents[1] / "resources" / "i18n"
    return here if here.is_dir() else installed


def ui_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the UI: $WHISPER_DESKTOP_UI_LANGUAGE, else the first of LANGUAGE (a list),
    LC_ALL, LC_MESSAGES and LANG that names one (C and POSIX mean English), else the system
    locale's. ``de_DE.UTF-8`` -> ``de``."""
    env = os.environ if environ is None else environ
    for var in (UI_LANGUAGE_ENV, "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for value in env.get(var, "").split(":"):
            code = value.split(".")[0].split("@")[0].strip()
            if code in ("C", "POSIX"):
                return SOURCE_LANGUAGE
            if code:
                return code.split("_")[0].split("-")[0].lower()
    if environ is not None:
        return SOURCE_LANGUAGE
    return QLocale.system().name().split("_")[0].lower() or SOURCE_LANGUAGE


def install_translators(app: QCoreApplication, language: str) -> list[QTranslator]:
    """Load and install the translators for ``language``; none for English or a language
    without a translation. Keep the returned list alive as long as the app."""
    if language == SOURCE_LANGUAGE:
        return []
    installed: list[QTranslator] = []
    own = QTranslator(app)
    if own.load(f"{CATALOG}_{language}", str(translations_dir())):
        app.installTranslator(own)
        installed.append(own)
    else:
        log.info("no %s translation of the UI; it stays in English", language)
        return []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    qtbase = QTranslator(app)
    if qtbase.load(f"qtbase_{language}", qt_dir):  # OK, Cancel, Apply…
        app.installTranslator(qtbase)
        installed.append(qtbase)
    return installed
