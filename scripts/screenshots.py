"""Remakes the README's pictures from the real widgets: docs/overlay.png (three sources: the
microphone, system audio and a phone), docs/overlay-outline.png (four lines per source with an
outline and no background, over a bright picture), docs/scrollback.png (the scrollback in full
screen on a 1280x720 screen), docs/history.png (the history window with an utterance in the
detail pane) and docs/settings.png (the settings dialog).

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs] [--lang en]

Under Xvfb (``QT_QPA_PLATFORM=xcb``) the pictures are the same; no window manager is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SCREEN = (1280, 720)  # the offscreen platform's screen: what the full-screen scrollback fills
if os.environ["QT_QPA_PLATFORM"] == "offscreen":
    _screens = Path(tempfile.mkdtemp(prefix="wd-screens-")) / "screens.json"
    _screen = {"name": "Screen-1", "x": 0, "y": 0, "width": SCREEN[0], "height": SCREEN[1]}
    _screen |= {"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1, "primary": True}
    _screens.write_text(json.dumps({"screens": [_screen]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screens}"

CONVERSATION = [  # (source, text, start, end): a call on the speakers, the user, a phone
    ("system", "Good morning everyone, let's start with the release plan.", 0.0, 3.4),
    ("user", "Morning! The installer for Debian is ready for testing.", 3.8, 6.9),
    ("system", "Great. Did the German translation make it in?", 7.2, 9.8),
    ("user", "Yes, the settings and the tray menu are translated now.", 10.1, 13.5),
    ("phone-1", "I'm on my phone in the train, I can hear you fine.", 14.0, 17.2),
    ("system", "Perfect, then let's go through the open issues one by one.", 17.6, 21.0),
]


def _overlay(out: Path) -> Path:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPixmap

    from whisper_desktop.widgets.overlay import CaptionOverlay, OverlayStyle

    overlay = CaptionOverlay(OverlayStyle(fade_seconds=0, clear_seconds=0))
    overlay.setGeometry(0, 0, 860, 150)
    overlay.show()
    overlay.add_text("user", "Yes, the settings and the tray menu are", False)
    overlay.add_text("system", "Perfect, then let's go through the open issues", False)
    overlay.add_text("phone-1", "I'm on my phone in the train, I can hear you fine.", True)
    _settle()
    caption = overlay.grab()
    # the overlay is translucent: show it over a desktop-like background, as on a screen
    shot = QPixmap(caption.width() + 80, caption.height() + 80)
    painter = QPainter(shot)
    gradient = QLinearGradient(0, 0, shot.width(), shot.height())
    gradient.setColorAt(0, QColor("#3b5b7a"))
    gradient.setColorAt(1, QColor("#a7b8a0"))
    painter.fillRect(shot.rect(), gradient)
    painter.drawPixmap(QPoint(40, 40), caption)
    painter.end()
    overlay.close()
    path = out / "overlay.png"
    shot.save(str(path), "PNG")
    return path


def _bright_backdrop(width: int, height: int):
    """A sunny, busy picture: the case where captions without an outline get lost."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPixmap, QRadialGradient

    shot = QPixmap(width, height)
    painter = QPainter(shot)
    sky = QLinearGradient(0, 0, 0, height)
    sky.setColorAt(0, QColor("#bfe6ff"))
    sky.setColorAt(0.55, QColor("#fff7d6"))
    sky.setColorAt(1, QColor("#f4d36b"))
    painter.fillRect(shot.rect(), sky)
    sun = QRadialGradient(QPointF(width * 0.7, height * 0.45), height * 0.6)
    sun.setColorAt(0, QColor(255, 255, 255, 255))
    sun.setColorAt(1, QColor(255, 255, 255, 0))
    painter.fillRect(shot.rect(), sun)
    painter.end()
    return shot


def _overlay_outline(out: Path) -> Path:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter

    from whisper_desktop.widgets.overlay import CaptionOverlay, OverlayStyle

    style = OverlayStyle(
        font_size=22, fade_seconds=0, clear_seconds=0, opacity=0.0,
        lines_per_source=4, outline_width=3, outline_color="#000000",
    )  # fmt: skip
    overlay = CaptionOverlay(OverlayStyle(font_size=22))
    overlay.setGeometry(0, 0, 900, 100)
    overlay.apply_style(style)  # grows to fit four lines of two sources, as Settings does
    overlay.show()
    for cid, text, _, _ in CONVERSATION[:4]:
        overlay.add_text(cid, " " + text, True)
    overlay.add_text("user", " And the outline keeps every word readable on a bright", False)
    overlay.add_text("system", " Four lines each, so a whole thought stays on screen", False)
    _settle()
    caption = overlay.grab()
    shot = _bright_backdrop(caption.width() + 80, caption.height() + 80)
    painter = QPainter(shot)
    painter.drawPixmap(QPoint(40, 40), caption)
    painter.end()
    overlay.close()
    path = out / "overlay-outline.png"
    shot.save(str(path), "PNG")
    return path


def _scrollback(out: Path) -> Path:
    from whisper_desktop.widgets.overlay import REMOTE_COLORS, OverlayStyle
    from whisper_desktop.widgets.scrollback import ScrollbackWindow

    style = OverlayStyle()
    colors = {"user": style.user_color, "system": style.system_color, "phone-1": REMOTE_COLORS[0]}
    labels = {"user": "You", "system": "System", "phone-1": "Phone 1"}
    window = ScrollbackWindow(minutes=10)
    window.show()
    for cid, text, _, _ in CONVERSATION:
        window.add_line(cid, labels[cid], colors[cid], text)
    window.set_full_screen(True)
    _settle()
    path = out / "scrollback.png"
    window.grab().save(str(path), "PNG")
    window.close()
    return path


def _history(out: Path, folder: Path) -> Path:
    from whisper_desktop.history.recorder import HistoryRecorder
    from whisper_desktop.history.store import HistoryStore
    from whisper_desktop.widgets.history_window import HistoryWindow

    store = HistoryStore(folder / "history.sqlite3")
    rec = HistoryRecorder(store, model="base", language="en")
    t0 = 1_795_000_000.0  # a fixed time, so the picture does not change with the clock
    for cid in ("user", "system", "phone-1"):
        rec.session_started(cid, started_at=t0 + (14.0 if cid == "phone-1" else 0.0))
    for cid, text, start, end in CONVERSATION:
        offset = 14.0 if cid == "phone-1" else 0.0
        rec.add(cid, " " + text, start - offset, end - offset, True)
    rec.close_all()
    window = HistoryWindow(store)
    window.resize(980, 560)
    window.show()
    window.refresh()
    _settle()
    window.utterances.topLevelItem(3).setSelected(True)
    _settle()
    path = out / "history.png"
    window.grab().save(str(path), "PNG")
    window.close()
    store.close()
    return path


def _settings(out: Path) -> Path:
    from whisper_desktop.settings import Settings
    from whisper_desktop.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(
        Settings(language="en", token="kX3v9QeP2mZr7TfA1bLw0g", autostart=True),
        lambda: [("alsa_input.usb-headset", "USB Headset Microphone")],
        lambda: [("alsa_output.pci-analog", "Built-in Audio Analog Stereo")],
        list_installed=lambda: {"base": "pip package", "tiny.en": "pip package"},
    )
    dialog.show()
    dialog.buttons.setFocus()  # no text cursor in the model box
    _settle()
    path = out / "settings.png"
    dialog.grab().save(str(path), "PNG")
    dialog.close()
    return path


def _settle() -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(300, loop.quit)
    loop.exec()
    QCoreApplication.processEvents()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    p.add_argument("--lang", default="en", help="UI language of the pictures (en, de)")
    args = p.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from whisper_desktop.i18n import install_translators
    from whisper_desktop.icons import style_sheet
    from whisper_desktop.qt_compat import protect_singletons

    protect_singletons()
    app = QApplication.instance() or QApplication(["whisper-desktop"])
    app.setStyleSheet(style_sheet())
    keep = install_translators(app, args.lang)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            _overlay(args.out),
            _overlay_outline(args.out),
            _scrollback(args.out),
            _history(args.out, Path(tmp)),
            _settings(args.out),
        ]
    for path in paths:
        print(f"{path} {path.stat().st_size // 1024} kB")
    del keep
    return 0


if __name__ == "__main__":
    sys.exit(main())
