"""Where one session's events go: the connection that serves it now, or nowhere for a while.

Every transcript and notice gets a sequence number and stays in a bounded history, so a client
that reconnects after a dropped connection (resume) names the last number it got and receives
everything after it: events lost in flight on the old socket, and events of the time between.
The engine's thread calls ``listener``; it never blocks.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from server_core.events import ClosedEvent, SessionEvent

HISTORY_EVENTS = 2000  # about half an hour of captions


@dataclass(frozen=True)
class Numbered:
    seq: int  # 0 for the ClosedEvent, which is never replayed twice
    event: SessionEvent


Deliver = Callable[[Numbered], None]


@dataclass
class Replay:
    """What a newly attached connection sends first."""

    missed: list[Numbered]
    gap: bool  # some events after the client's last one fell out of the history
    closed: Optional[Numbered]  # the session already closed while nobody was attached


class Relay:
    def __init__(self, history: int = HISTORY_EVENTS) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._history: deque[Numbered] = deque(maxlen=history)
        self._deliver: Optional[Deliver] = None
        self._closed: Optional[Numbered] = None
        self._detached_at = 0

    @property
    def seq(self) -> int:
        """The number of the newest event."""
        return self._seq

    def listener(self, event: SessionEvent) -> None:
        with self._lock:
            if isinstance(event, ClosedEvent):
                item = self._closed = Numbered(0, event)
            else:
                self._seq += 1
                item = Numbered(self._seq, event)
                self._history.append(item)
            deliver = self._deliver
        if deliver is not None:
            deliver(item)

    def attach(self, deliver: Deliver, after: Optional[int] = None) -> Replay:
        """Send events to ``deliver`` from now on; return those after ``after`` (default: the
        ones that came while nobody was attached)."""
        with self._lock:
            self._deliver = deliver
            since = self._detached_at if after is None else max(0, after)
            missed = [item for item in self._history if item.seq > since]
            oldest = self._history[0].seq if self._history else self._seq + 1
            gap = oldest > since + 1 and self._seq > since
            return Replay(missed, gap, self._closed)

    def detach(self, deliver: Deliver) -> None:
        """Stop delivering to ``deliver`` (if it is still the one attached)."""
        with self._lock:
            if self._deliver is deliver:
                self._deliver = None
                self._detached_at = self._seq
