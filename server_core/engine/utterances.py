"""One session's finished utterances waiting for the final pass, and the tape they are cut
from (engine/final_pass.py runs the pass)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from server_core.config import SAMPLE_RATE
from server_core.engine.final_decode import PROMPT_TOKENS, Segment
from server_core.engine.tape import AudioTape

TAPE_SECONDS = 150.0  # audio a session keeps for open and waiting utterances
WAITING_SECONDS = 120.0  # finished utterances' audio a session keeps for the final pass
GROUP_SECONDS = 90.0  # capped utterances decoded together, at most (then without a pause)
GROUP_WAIT_SECONDS = 15.0  # how long a capped utterance waits for the next line to close


@dataclass
class ClosedUtterance:
    start: float  # stream seconds, as in the utterance's transcript events
    end: float
    live_text: str
    closed_at: float  # monotonic
    cut: bool = False  # closed by the utterance cap, inside speech (not at a pause)

    @property
    def seconds(self) -> float:
        return self.end - self.start


class UtteranceQueue:
    """One session's tape and its finished utterances waiting for the final pass.

    Utterances that the cap closed inside speech wait for the next pause: the final pass
    decodes a run of them, up to and including the one that ended at a pause, as one clip
    (so no word is cut in two where the live text cut a line), and hands each line the
    segments whose middle lies in it.
    """

    def __init__(self) -> None:
        self.tape = AudioTape(int(TAPE_SECONDS * SAMPLE_RATE))
        self.waiting: deque[ClosedUtterance] = deque()
        self.busy = False  # utterances of this session are being decoded (taken off waiting)
        self.history: list[int] = []  # earlier final texts' tokens: the next prompt

    @property
    def idle(self) -> bool:
        return not self.waiting and not self.busy

    def closed(self, start: float, end: float, live_text: str, cut: bool) -> None:
        """The emitter sent an utterance's final transcript: its final pass is due."""
        self.waiting.append(ClosedUtterance(start, end, live_text, time.monotonic(), cut))

    def keep_from(self) -> int | None:
        """The first stream sample the waiting utterances need (None: they need none)."""
        return int(self.waiting[0].start * SAMPLE_RATE) if self.waiting else None

    def group(self, ending: bool) -> list[ClosedUtterance]:
        """The next run to decode: the oldest utterances up to the first that ended at a
        pause; empty while that pause has not come (unless ``ending``, the run is long, or no
        line closed after it for a while: the rest of that speech gave no live text)."""
        run: list[ClosedUtterance] = []
        for u in self.waiting:
            run.append(u)
            if not u.cut:
                return run
        if not run:
            return run
        long = run[-1].end - run[0].start >= GROUP_SECONDS
        stale = time.monotonic() - run[-1].closed_at >= GROUP_WAIT_SECONDS
        return run if ending or long or stale else []

    def overflow(self) -> list[ClosedUtterance]:
        """Take the oldest waiting utterances while they hold more than WAITING_SECONDS."""
        out = []
        while len(self.waiting) > 1 and sum(u.seconds for u in self.waiting) > WAITING_SECONDS:
            out.append(self.waiting.popleft())
        return out

    def remember(self, segments: tuple[Segment, ...], hot: bool) -> None:
        """The final pass's segments become the next prompt (``hot``: it needed a high
        temperature, and transcribe then carries no prompt on)."""
        if hot:
            self.history.clear()
            return
        for seg in segments:
            self.history.extend(seg.tokens)
        del self.history[:-PROMPT_TOKENS]


def share_segments(
    segments: tuple[Segment, ...], clip_start: float, lines: list[ClosedUtterance]
) -> list[str]:
    """Each line's text: the segments whose middle lies in it (clip seconds from
    ``clip_start``); one before the first line goes to the first, after the last to the last."""
    texts = [""] * len(lines)
    for seg in segments:
        middle = clip_start + (seg.start + seg.end) / 2
        k = next((i for i, u in enumerate(lines) if middle < u.end), len(lines) - 1)
        texts[k] += seg.text
    return [t.strip() for t in texts]
