"""The overlay's rows take the final pass's text of a finished utterance in place of its live
text (CaptionBoard, no Qt; and the drawn overlay's snapshot)."""

from __future__ import annotations

from whisper_desktop.widgets.caption_rows import CaptionBoard
from whisper_desktop.widgets.overlay import CaptionOverlay, OverlayStyle


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_board_replaces_that_line_only() -> None:
    board = CaptionBoard("#111111", "#222222", clock=Clock())
    board.add_text("user", " The letter", False, start=0.5)
    board.add_text("user", " one.", True, start=1.0)
    board.add_text("user", " Next one", False, start=2.0)
    board.add_text("user", " too.", True, start=2.5)
    board.add_text("user", " Still talking", False, start=4.0)
    assert board.revise("user", 0.5, " The latter one.")
    assert board.row("user").text == "The latter one. Next one too. Still talking"
    assert not board.revise("user", 4.0, "not finished yet")  # the open utterance stays live
    assert not board.revise("phone", 0.5, "no such source")
    assert board.revise("user", 2.0, "")  # no speech after all: the line goes
    assert board.row("user").text == "The latter one. Still talking"


def test_a_cleared_line_is_not_brought_back() -> None:
    clock = Clock()
    board = CaptionBoard("#111111", "#222222", clock=clock)
    board.add_text("user", " old words.", True, start=0.0)
    clock.now += 60
    board.tick()
    assert board.row("user").text == ""
    assert not board.revise("user", 0.0, "old words, final.")
    assert board.row("user").text == ""


def test_overlay_shows_the_final_text(qtbot) -> None:
    w = CaptionOverlay(OverlayStyle(font_size=18, fade_seconds=0))
    qtbot.addWidget(w)
    w.set_captions_visible(True)
    w.add_text("phone", " two hundred", False, 3.0)
    w.add_text("phone", " 89 people.", True, 3.4)
    assert w.snapshot()["phone"]["text"] == "two hundred 89 people."
    w.revise("phone", 3.0, "289 people.")
    assert w.snapshot()["phone"]["text"] == "289 people."
