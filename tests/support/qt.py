"""The desktop tests' Qt set-up, written once (tests/whisper_desktop/conftest.py runs it before
any test module imports Qt), and a pixel counter for screenshots and grabbed widgets."""

from __future__ import annotations

import json
import os
from pathlib import Path


def use_offscreen_qt() -> None:
    """Widgets draw offscreen unless the environment asks for a real display; PySide6's
    reference bug is contained (see whisper_desktop.qt_compat)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from whisper_desktop.qt_compat import protect_singletons

    protect_singletons()


def count_colour(img, colour: str, tol: int = 40) -> int:
    """Pixels of a QImage within ``tol`` (per channel) of ``colour``."""
    from PySide6.QtGui import QColor

    target = QColor(colour)
    n = 0
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            if (
                abs(c.red() - target.red()) <= tol
                and abs(c.green() - target.green()) <= tol
                and abs(c.blue() - target.blue()) <= tol
            ):
                n += 1
    return n


def offscreen_screens(path: Path, screens: list[tuple[str, int, int, int, int]]) -> str:
    """QT_QPA_PLATFORM for the offscreen platform with these screens (the first is primary)."""
    path.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": n,
                        "x": x,
                        "y": y,
                        "width": w,
                        "height": h,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                        "primary": i == 0,
                    }  # fmt: skip
                    for i, (n, x, y, w, h) in enumerate(screens)
                ]
            }
        )
    )
    return f"offscreen:configfile={path}"
