"""The scrollback's lines: every finished caption line of the last minutes, oldest first.
No Qt; the clock is injected so tests control time."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MIN_MINUTES, MAX_MINUTES = 1, 120


@dataclass(frozen=True)
class ScrollbackLine:
    at: float  # clock time it finished
    client_id: str
    label: str
    color: str
    text: str


class ScrollbackLines:
    def __init__(self, minutes: int = 10, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.minutes = minutes
        self._lines: deque[ScrollbackLine] = deque()

    @property
    def minutes(self) -> int:
        return self._minutes

    @minutes.setter
    def minutes(self, value: int) -> None:
        self._minutes = max(MIN_MINUTES, min(MAX_MINUTES, int(value)))

    def add(self, client_id: str, label: str, color: str, text: str) -> ScrollbackLine:
        line = ScrollbackLine(self.clock(), client_id, label, color, text.strip())
        self._lines.append(line)
        self.prune()
        return line

    def prune(self) -> bool:
        """Forget lines older than the window; True when some went."""
        oldest = self.clock() - self._minutes * 60
        dropped = False
        while self._lines and self._lines[0].at < oldest:
            self._lines.popleft()
            dropped = True
        return dropped

    def lines(self) -> list[ScrollbackLine]:
        return list(self._lines)
