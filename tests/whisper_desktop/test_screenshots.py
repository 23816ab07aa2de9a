"""scripts/screenshots.py remakes the README's pictures from the real widgets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from tests.support import ROOT
from tests.support.qt import count_colour


def test_the_pictures_are_made_from_the_widgets(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run(
        [sys.executable, "scripts/screenshots.py", "--out", str(tmp_path)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    for name, (min_w, min_h) in {
        "overlay.png": (800, 150),
        "overlay-outline.png": (900, 300),
        "scrollback.png": (1280, 720),
        "history.png": (900, 500),
        "settings.png": (700, 450),
    }.items():
        path = tmp_path / name
        assert 0 < path.stat().st_size < 300 * 1024, name
        img = QImage(str(path))
        assert img.width() >= min_w and img.height() >= min_h, (name, img.size())
    overlay = QImage(str(tmp_path / "overlay.png")).scaled(235, 57)  # a quarter: fewer pixels
    # the three sources' colours: blue (you), yellow (system), green (phone)
    assert count_colour(overlay, "#4da6ff", 60) > 20
    assert count_colour(overlay, "#ffd633", 60) > 20
    assert count_colour(overlay, "#5ee27a", 60) > 20
    # four lines per source, the outline (black) around the text, over a bright picture
    outlined = QImage(str(tmp_path / "overlay-outline.png"))
    small = outlined.scaled(outlined.width() // 4, outlined.height() // 4)
    assert count_colour(small, "#4da6ff", 60) > 40 and count_colour(small, "#ffd633", 60) > 40
    assert count_colour(outlined, "#000000", 30) > 3000  # the outline
    assert outlined.pixelColor(5, 5).lightness() > 200  # the bright background
    scrollback = QImage(str(tmp_path / "scrollback.png"))
    assert (scrollback.width(), scrollback.height()) == (1280, 720)  # the whole screen
    small = scrollback.scaled(320, 180)
    assert count_colour(small, "#5ee27a", 60) > 5  # the phone's line, in its colour
