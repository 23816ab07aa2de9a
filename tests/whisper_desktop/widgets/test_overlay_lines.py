"""The overlay's reading options (offscreen): lines per source, the outline, the background,
and what screen readers get of it."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAccessible, QFont, QFontMetrics

from tests.support.qt import count_colour
from whisper_desktop.widgets.overlay import PAD, ROW_GAP, CaptionOverlay, OverlayStyle

LONG = " ".join(f"word{i}" for i in range(120))  # many lines at any width here


def line_height(size: int = 18) -> int:
    return QFontMetrics(QFont("DejaVu Sans", size)).lineSpacing()


@pytest.mark.parametrize("lines", [1, 2, 3, 4, 5, 6])
def test_each_source_shows_the_chosen_number_of_lines(qtbot, lines: int) -> None:
    w = CaptionOverlay(OverlayStyle(font_size=18, fade_seconds=0, lines_per_source=1))
    qtbot.addWidget(w)
    w.setGeometry(50, 600, 700, 120)  # too short for 6 lines: the overlay grows upwards
    w.apply_style(OverlayStyle(font_size=18, fade_seconds=0, lines_per_source=lines))
    lh = line_height()
    need = 2 * PAD + 2 * lines * lh + ROW_GAP
    assert w.height_for_lines() == need
    assert w.height() == max(120, need)
    assert w.geometry().bottom() == 600 + 120 - 1  # the bottom edge stays put
    w.set_captions_visible(True)
    w.add_text("user", " " + LONG, False)
    w.add_text("system", " " + LONG, True)
    lay = w.compute_layout()
    assert [len(shown) for _, shown in lay.rows] == [lines, lines]
    assert lay.rows[0][1][-1].endswith("word119")  # the latest lines, not the first
    assert lay.panel.height() == need and lay.panel.bottom() == w.rect().bottom()
    assert w.mask().boundingRect() == lay.panel


def test_lines_change_live_and_stay_in_range(qtbot) -> None:
    w = CaptionOverlay(OverlayStyle(font_size=18, fade_seconds=0, lines_per_source=2))
    qtbot.addWidget(w)
    w.resize(700, 600)
    w.add_text("user", " " + LONG, False)
    assert [len(s) for _, s in w.compute_layout().rows] == [2]
    w.apply_style(OverlayStyle(font_size=18, fade_seconds=0, lines_per_source=5))
    assert [len(s) for _, s in w.compute_layout().rows] == [5]
    assert OverlayStyle(lines_per_source=0).lines == 1
    assert OverlayStyle(lines_per_source=9).lines == 6
    # a window made smaller than the lines need shows fewer, never overlapping rows
    w.resize(700, 2 * PAD + 3 * line_height())
    w.add_text("system", " " + LONG, False)
    lay = w.compute_layout()
    assert [len(s) for _, s in lay.rows] == [1, 1] and lay.panel.height() <= w.height()


def test_outline_and_background_colours_are_drawn(qtbot) -> None:
    w = CaptionOverlay(OverlayStyle(font_size=28, fade_seconds=0, opacity=1.0))
    qtbot.addWidget(w)
    w.resize(700, 200)
    w.add_text("user", " Hello outlined world", False)
    plain = w.grab().toImage()
    w.apply_style(
        OverlayStyle(
            font_size=28,
            fade_seconds=0,
            opacity=1.0,
            background_color="#204020",
            outline_width=3,
            outline_color="#ff00ff",
        )
    )
    outlined = w.grab().toImage()
    assert count_colour(plain, "#ff00ff", 30) == 0
    assert count_colour(outlined, "#ff00ff", 30) > 200  # the outline around the glyphs
    assert count_colour(outlined, "#4da6ff", 30) > 100  # the text keeps its colour inside
    assert count_colour(outlined, "#204020", 8) > 2000 and count_colour(plain, "#204020", 8) == 0


def test_screen_readers_get_whole_finished_lines(qtbot) -> None:
    w = CaptionOverlay(OverlayStyle(fade_seconds=0))
    qtbot.addWidget(w)
    w.set_captions_visible(True)
    iface = QAccessible.queryAccessibleInterface(w)
    assert iface is not None and iface.isValid()
    assert iface.text(QAccessible.Text.Name) == "Whisper Desktop captions"
    finished = []
    w.line_finished.connect(lambda *args: finished.append(args))
    w.add_text("user", " Good morning", False)
    w.add_text("user", " every", False)
    assert iface.text(QAccessible.Text.Description) == ""  # not word by word
    w.add_text("user", "one.", True)
    assert iface.text(QAccessible.Text.Description) == "You: Good morning everyone."
    w.add_text("system", " The call starts now.", True)
    w.add_text("system", "", True)  # a final with no words says nothing new
    assert iface.text(QAccessible.Text.Description) == "System: The call starts now."
    assert w.announced_lines() == ["You: Good morning everyone.", "System: The call starts now."]
    assert finished == [
        ("user", "You", "#4da6ff", "Good morning everyone."),
        ("system", "System", "#ffd633", "The call starts now."),
    ]
