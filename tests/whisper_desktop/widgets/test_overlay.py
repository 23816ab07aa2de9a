"""The caption overlay (offscreen): colours per source, order, wrapping, style, fading."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.support.qt import count_colour
from whisper_desktop.widgets.overlay import REMOTE_COLORS, CaptionOverlay, OverlayStyle

BLUE, YELLOW = "#4da6ff", "#ffd633"


@pytest.fixture()
def overlay(qtbot) -> CaptionOverlay:
    w = CaptionOverlay(OverlayStyle(font_size=18, fade_seconds=0))
    qtbot.addWidget(w)
    w.resize(700, 220)
    w.set_captions_visible(True)
    return w


def test_overlay_shows_each_source_in_its_colour(overlay: CaptionOverlay) -> None:
    overlay.add_text("user", " Hello from", False)
    overlay.add_text("user", " the microphone.", True)
    overlay.add_text("system", " And the speakers", False)
    overlay.add_text("phone-1", " remote text", False)
    snap = overlay.snapshot()
    assert snap["user"] == {"label": "You", "color": BLUE, "text": "Hello from the microphone."}
    assert snap["system"] == {"label": "System", "color": YELLOW, "text": "And the speakers"}
    assert snap["phone-1"]["label"] == "phone-1"
    assert snap["phone-1"]["color"] == REMOTE_COLORS[0]
    overlay.add_text("laptop", " more", False)
    assert overlay.snapshot()["laptop"]["color"] == REMOTE_COLORS[1]
    img = overlay.grab().toImage()
    assert count_colour(img, BLUE) > 30
    assert count_colour(img, YELLOW) > 30
    assert count_colour(img, REMOTE_COLORS[0]) > 30


def test_overlay_order_is_stable(overlay: CaptionOverlay) -> None:
    for cid in ("phone-1", "system", "laptop", "user"):
        overlay.add_text(cid, " hi", False)
    assert [s.client_id for s in overlay.ordered_sources()] == [
        "user",
        "system",
        "phone-1",
        "laptop",
    ]


def test_overlay_keeps_the_latest_lines(overlay: CaptionOverlay) -> None:
    for i in range(40):
        overlay.add_text("user", f" sentence{i} goes here.", True)
    text = overlay.snapshot()["user"]["text"]
    assert text.endswith("sentence39 goes here.") and len(text) <= 600
    from PySide6.QtGui import QFont, QFontMetrics

    lines = CaptionOverlay._wrap(text, QFontMetrics(QFont("DejaVu Sans", 18)), 300)
    assert len(lines) > 2 and lines[-1].endswith("here.")


def test_overlay_style_and_click_through(overlay: CaptionOverlay) -> None:
    overlay.add_text("user", " words", False)
    overlay.apply_style(OverlayStyle(user_color="#00ff00", click_through=True, font_size=30))
    assert overlay.snapshot()["user"]["color"] == "#00ff00"
    assert overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    overlay.apply_style(OverlayStyle(click_through=False))
    assert not overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    flags = overlay.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint and flags & Qt.WindowType.WindowStaysOnTopHint
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)


def test_overlay_fades_when_idle_and_comes_back(qtbot) -> None:
    w = CaptionOverlay(OverlayStyle(fade_seconds=0.3))
    qtbot.addWidget(w)
    w.set_captions_visible(True)
    w.add_text("phone-1", " hello", True)
    w.source_closed("phone-1")
    assert w.isVisible()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert w.faded() and "phone-1" not in w.snapshot()  # closed sources go with the fade
    w.add_text("user", " again", False)
    assert w.isVisible() and not w.faded()
    w.set_captions_visible(False)
    w.add_text("user", " hidden", False)
    assert not w.isVisible()


def test_overlay_reports_moves_and_resizes(qtbot, overlay: CaptionOverlay) -> None:
    with qtbot.waitSignal(overlay.geometry_changed, timeout=3000) as sig:
        overlay.setGeometry(100, 120, 640, 180)
    assert sig.args[0] == (100, 120, 640, 180)
