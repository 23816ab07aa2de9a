"""The session's audio buffer, without a model: what survives cutting closed utterances off."""

from __future__ import annotations

import numpy as np

from server_core.alignatt import WindowState
from server_core.session import Buffer


def test_dropping_closed_utterances_keeps_what_was_sent_of_the_open_one():
    # two closed utterances (tokens 1-4), then an open one whose first words were sent
    buf = Buffer(
        start=0,
        audio=np.zeros(10 * 16000, np.float32),
        window=WindowState(
            tokens=[1, 2, 3, 4, 5, 6], frames=[10, 20, 200, 210, 400, 410], closed=4
        ),
        final_end=5 * 16000,
        emitted_text=" One very important",
        utterance_open=True,
    )
    dropped = buf.drop_front(buf.final_end)
    assert dropped == [1, 2, 3, 4]
    assert buf.window.tokens == [5, 6] and buf.window.closed == 0
    assert buf.window.frames == [150, 160]
    assert buf.start == 5 * 16000 and buf.audio.shape[0] == 5 * 16000
    # the open utterance's text must not be sent a second time after the cut
    assert buf.emitted_text == " One very important"
