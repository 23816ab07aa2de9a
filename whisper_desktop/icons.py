"""The app's icons (SVG files in ``resources/icons``) and its style sheet."""

from __future__ import annotations

import logging
from functools import cache
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

log = logging.getLogger(__name__)

RESOURCES = Path(str(files("server_core.resources")))
ICONS = RESOURCES / "icons"
APP_ICON = "whisper-desktop"
STATE_COLORS = {
    "loading": "#6e7681",
    "listening": "#1f6feb",
    "paused": "#57606a",
    "error": "#cf222e",
}


def _fallback(color: str) -> QIcon:
    pm = QPixmap(32, 32)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(color))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, 30, 30)
    p.end()
    return QIcon(pm)


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg``, or a plain coloured disc if it cannot be loaded."""
    path = ICONS / f"{name}.svg"
    ic = QIcon(str(path)) if path.is_file() else QIcon()
    if ic.isNull() or ic.pixmap(32, 32).isNull():
        log.debug("icon %s not loadable, drawing one", path)
        return _fallback(STATE_COLORS.get(name.removeprefix("tray-"), "#1f6feb"))
    return ic


def state_icon(state: str) -> QIcon:
    """The tray icon of an app state: loading, listening, paused or error."""
    return icon(f"tray-{state}")


def app_icon() -> QIcon:
    return icon(APP_ICON)


def style_sheet() -> str:
    path = RESOURCES / "app.qss"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
