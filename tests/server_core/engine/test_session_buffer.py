"""The session's audio window, without a model: what survives cutting closed utterances off."""

from __future__ import annotations

import numpy as np

from server_core.engine.window import Window, WindowState


def test_dropping_closed_utterances_keeps_the_open_one():
    # two closed utterances (tokens 1-4), then an open one whose first words were sent
    win = Window(
        start=0,
        audio=np.zeros(10 * 16000, np.float32),
        state=WindowState(tokens=[1, 2, 3, 4, 5, 6], frames=[10, 20, 200, 210, 400, 410], closed=4),
        final_end=5 * 16000,
    )
    dropped = win.drop_front(win.final_end)
    assert dropped == [1, 2, 3, 4]
    assert win.state.tokens == [5, 6] and win.state.closed == 0
    assert win.state.frames == [150, 160]
    assert win.start == 5 * 16000 and win.audio.shape[0] == 5 * 16000
    assert win.final_end == 0
