"""One session's finished utterances waiting for the final pass, and the tape they are cut
from (engine/final_pass.py runs the pass)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from server_core.config import SAMPLE_RATE
from server_core.engine.final_decode import ClipResult
from server_core.engine.tape import AudioTape

TAPE_SECONDS = 90.0  # audio a session keeps for utterances still open (the cap is 30 s)
WAITING_SECONDS = 120.0  # finished utterances' audio a session keeps for the final pass


@dataclass
class ClosedUtterance:
    start: float  # stream seconds, as in the utterance's transcript events
    end: float
    live_text: str
    audio: np.ndarray
    closed_at: float  # monotonic


class UtteranceQueue:
    """One session's tape and its finished utterances waiting for the final pass."""

    def __init__(self) -> None:
        self.tape = AudioTape(int(TAPE_SECONDS * SAMPLE_RATE))
        self.waiting: deque[ClosedUtterance] = deque()
        self.busy = False  # one utterance of this session is being decoded (taken off waiting)
        self.history: list[int] = []  # earlier final texts' tokens: the next prompt

    @property
    def idle(self) -> bool:
        return not self.waiting and not self.busy

    def closed(self, start: float, end: float, live_text: str) -> None:
        """The emitter sent an utterance's final transcript: keep its audio for the pass."""
        audio = self.tape.slice(int(start * SAMPLE_RATE), int(end * SAMPLE_RATE))
        self.waiting.append(ClosedUtterance(start, end, live_text, audio, time.monotonic()))

    def overflow(self) -> list[ClosedUtterance]:
        """Take the oldest waiting utterances while they hold more than WAITING_SECONDS."""
        out = []
        limit = WAITING_SECONDS * SAMPLE_RATE
        while len(self.waiting) > 1 and sum(u.audio.shape[0] for u in self.waiting) > limit:
            out.append(self.waiting.popleft())
        return out

    def remember(self, result: ClipResult) -> None:
        self.history[:] = result.context
