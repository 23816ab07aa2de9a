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
    assert snap["phone-1"]["label"] == "Phone 1"
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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clocked(qtbot) -> tuple[CaptionOverlay, FakeClock]:
    clock = FakeClock()
    w = CaptionOverlay(
        OverlayStyle(font_size=18, fade_seconds=0, pause_seconds=3, clear_seconds=8), clock=clock
    )
    qtbot.addWidget(w)
    w.resize(700, 260)
    w.set_captions_visible(True)
    return w, clock


def test_remote_sources_get_short_labels_and_the_text_column_stays_put(
    overlay: CaptionOverlay,
) -> None:
    overlay.add_text("user", " hello", False)
    before = overlay.compute_layout()
    overlay.add_text("browser-e89gd", " from the browser", False)
    overlay.add_text("browser-x71kq", " another tab", False)
    overlay.add_text("a-very-long-remote-device-name", " words", False)
    snap = overlay.snapshot()
    assert snap["browser-e89gd"]["label"] == "Browser"
    assert snap["browser-x71kq"]["label"] == "Browser 2"
    assert len(snap["a-very-long-remote-device-name"]["label"]) <= 12
    after = overlay.compute_layout()
    assert (after.label_width, after.text_x) == (before.label_width, before.text_x)
    # a narrow window keeps most of its width for the text: never one word per row
    overlay.resize(260, 200)
    narrow = overlay.compute_layout()
    assert narrow.label_width <= 260 * 0.25 and narrow.text_width >= 260 * 0.6
    long = "many words of a sentence that wraps over a few lines here"
    overlay.add_text("browser-e89gd", " " + long, True)
    rows = dict((r.client_id, lines) for r, lines in overlay.compute_layout().rows)
    assert all(len(line.split()) > 1 for line in rows["browser-e89gd"])


def test_a_new_utterance_after_a_pause_starts_fresh(clocked) -> None:
    w, clock = clocked
    w.add_text("user", " first utterance.", True)
    clock.now += 1.0
    w.add_text("user", " quick follow-up.", True)
    assert w.snapshot()["user"]["text"] == "first utterance. quick follow-up."
    clock.now += 5.0  # silence, then a new utterance
    w.add_text("user", " after the pause", False)
    assert w.snapshot()["user"]["text"] == "after the pause"
    clock.now += 5.0  # an utterance still being spoken is not cut by its own pauses
    w.add_text("user", " goes on.", True)
    assert w.snapshot()["user"]["text"] == "after the pause goes on."


def test_old_text_fades_and_clears(clocked) -> None:
    w, clock = clocked
    w.add_text("user", " old words.", True)
    w.add_text("phone-2", " remote words.", True)
    w.source_closed("phone-2")
    row = w.source("user")
    clock.now += 7.5
    w._tick()
    assert 0.0 < w._board.alpha(row) < 1.0  # fading
    assert w.snapshot()["user"]["text"] == "old words."
    clock.now += 1.0
    w._tick()
    assert w.snapshot()["user"]["text"] == ""
    assert "phone-2" not in w.snapshot()  # a closed source's row goes with its text
    assert w.compute_layout().placeholder == "Listening…"


def test_first_start_says_listening_in_a_box_that_fits(clocked) -> None:
    w, clock = clocked
    lay = w.compute_layout()
    assert lay.rows == [] and lay.placeholder == "Listening…"
    assert lay.panel.bottom() == w.rect().bottom() and lay.panel.height() < w.height() / 2
    img = w.grab().toImage()
    top = [img.pixelColor(x, 10).alpha() for x in range(0, w.width(), 7)]
    assert max(top) == 0  # nothing drawn above the panel
    inside = [img.pixelColor(x, lay.panel.center().y()) for x in range(lay.text_x, w.width() // 2)]
    assert any(c.red() > 120 for c in inside)  # the "Listening…" text
    assert not w.mask().isEmpty() and w.mask().boundingRect() == lay.panel
    w.set_idle_text("Loading the model…")
    assert w.compute_layout().placeholder == "Loading the model…"
    w.add_text("user", " one line", False)
    one = w.compute_layout()
    assert one.placeholder == "" and len(one.rows) == 1
    w.add_text("system", " " + "more words " * 30, False)
    two = w.compute_layout()
    assert two.panel.height() > one.panel.height()  # the box grows with its rows
    assert w.mask().boundingRect() == two.panel


def test_right_click_menu_asks_the_controller(qtbot, overlay: CaptionOverlay) -> None:
    menu = overlay.build_menu()
    actions = {a.text(): a for a in menu.actions() if not a.isSeparator()}
    assert list(actions) == ["Settings…", "History…", "Scrollback…", "Hide captions", "Quit"]
    for text, signal in (
        ("Settings…", overlay.settings_requested),
        ("History…", overlay.history_requested),
        ("Scrollback…", overlay.scrollback_requested),
        ("Hide captions", overlay.hide_requested),
        ("Quit", overlay.quit_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            actions[text].trigger()
