"""The scrollback window: the last minutes of finished lines, and full screen on a chosen screen
(two screens of Qt's offscreen platform, in a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT
from tests.support.qt import offscreen_screens
from whisper_desktop.widgets.scrollback import ScrollbackWindow
from whisper_desktop.widgets.scrollback_lines import ScrollbackLines


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_lines_older_than_the_window_go() -> None:
    clock = Clock()
    lines = ScrollbackLines(minutes=2, clock=clock)
    lines.add("user", "You", "#4da6ff", " first ")
    clock.now += 90
    lines.add("system", "System", "#ffd633", "second")
    assert [(line.label, line.text) for line in lines.lines()] == [
        ("You", "first"),
        ("System", "second"),
    ]
    clock.now += 31
    assert lines.prune() and [line.text for line in lines.lines()] == ["second"]
    assert not lines.prune()
    lines.minutes = 0
    assert lines.minutes == 1


def test_the_window_shows_each_line_in_its_colour(qtbot) -> None:
    clock = Clock()
    w = ScrollbackWindow(minutes=1, clock=clock)
    qtbot.addWidget(w)
    w.show()
    w.add_line("user", "You", "#4da6ff", "Hello <b>there</b>.")
    w.add_line("system", "System", "#ffd633", "Welcome.")
    w.add_line("user", "You", "#4da6ff", "   ")  # nothing said: no line
    assert w.lines() == ["You: Hello <b>there</b>.", "System: Welcome."]
    text = w.view.toPlainText()
    assert "You  Hello <b>there</b>." in text.replace("\xa0", " ")  # shown as text, not markup
    html = w.view.toHtml()
    assert "#4da6ff" in html and "#ffd633" in html
    clock.now += 61
    w._prune_old()
    assert w.lines() == [] and w.view.toPlainText().strip() == ""
    assert "1 minutes" in w.span.text()


FULL_SCREEN = """
import json, sys
from tests.support.qt import use_offscreen_qt
use_offscreen_qt()
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication
app = QApplication([])
from whisper_desktop.widgets.scrollback import ScrollbackWindow
w = ScrollbackWindow(screen_name=sys.argv[1])
w.show()
w.add_line("user", "You", "#4da6ff", "On the big screen.")
w.full_screen.click()
app.processEvents()
g = w.geometry()
out = {"full": w.isFullScreen(), "screen": w.windowHandle().screen().name(),
       "geometry": [g.x(), g.y(), g.width(), g.height()], "bar": w._bar.isVisible(),
       "font": w.view.font().pointSize()}
esc = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier)
QApplication.sendEvent(w, esc)
app.processEvents()
out["after_escape"] = [w.isFullScreen(), w.full_screen.isChecked(), w.view.font().pointSize()]
print(json.dumps(out))
"""


def test_full_screen_on_the_chosen_screen(tmp_path: Path) -> None:
    platform = offscreen_screens(
        tmp_path / "screens.json",
        [("eDP-1", 0, 0, 1280, 800), ("HDMI-1", 1280, 0, 1920, 1080)],
    )
    env = {**os.environ, "QT_QPA_PLATFORM": platform}
    results = {}
    for name in ("HDMI-1", "eDP-1", "gone"):
        r = subprocess.run(
            [sys.executable, "-c", FULL_SCREEN, name],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-2000:]
        results[name] = json.loads(r.stdout.strip().splitlines()[-1])
    hdmi = results["HDMI-1"]
    assert hdmi["full"] and hdmi["screen"] == "HDMI-1"
    assert hdmi["geometry"] == [1280, 0, 1920, 1080] and not hdmi["bar"]
    assert hdmi["font"] == 30  # 1.5 x the overlay's 20 pt
    assert hdmi["after_escape"] == [False, False, 20]
    assert results["eDP-1"]["geometry"] == [0, 0, 1280, 800]
    assert results["gone"]["screen"] == "eDP-1"  # an absent screen: the window's own
