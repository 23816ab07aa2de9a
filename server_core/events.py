"""What the engine tells a session's listener."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Union


@dataclass(frozen=True)
class TranscriptEvent:
    """Newly committed text of one client.

    ``start``/``end`` are seconds of that client's audio stream; ``final`` marks the close of an
    utterance (VAD silence, a full segment, or end of stream).
    """

    client_id: str
    text: str
    start: float
    end: float
    final: bool
    timestamp: float = field(default_factory=time.time)

    def to_wire(self) -> dict:
        """The reference system's four fields first, then our extensions."""
        return {
            "type": "transcript",
            "client_id": self.client_id,
            "text": self.text,
            "timestamp": self.timestamp,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "final": self.final,
        }


@dataclass(frozen=True)
class NoticeEvent:
    """Something the client must know that is not text, e.g. audio skipped under overload.

    ``code`` is machine-readable (``lag_skip``, ``model_changed``, ...); ``message`` is for people.
    """

    client_id: str
    code: str
    message: str
    skipped_seconds: float = 0.0
    timestamp: float = field(default_factory=time.time)

    def to_wire(self) -> dict:
        data = asdict(self)
        return {"type": "notice", **data}


@dataclass(frozen=True)
class ClosedEvent:
    """The session has been flushed and closed; no event follows."""

    client_id: str
    timestamp: float = field(default_factory=time.time)


SessionEvent = Union[TranscriptEvent, NoticeEvent, ClosedEvent]
Listener = Callable[[SessionEvent], None]
