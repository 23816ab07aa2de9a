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
