"""What the engine tells a session's listener (no torch)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
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

    ``code`` is machine-readable (``lag_skip``, ``config_changed``, ...); ``message`` is for
    people.
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
class UtteranceEvent:
    """The final text of one whole utterance, from the second, offline-style pass over its
    audio (a protocol extension: clients that do not know ``utterance`` ignore it).

    ``start``/``end`` are those of the utterance's transcript events (the first one's start,
    the final one's end), so a client can replace that line's live text with ``text``.
    """

    client_id: str
    text: str
    start: float
    end: float
    timestamp: float = field(default_factory=time.time)

    def to_wire(self) -> dict:
        return {
            "type": "utterance",
            "client_id": self.client_id,
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "timestamp": self.timestamp,
        }


class CloseReason(str, Enum):
    ENDED = "ended"  # end() was called and everything accepted was transcribed
    ABORTED = "aborted"  # abort(): the client went away; nothing more was transcribed
    ENGINE_STOPPED = "engine_stopped"  # the engine stopped without flushing this session


@dataclass(frozen=True)
class ClosedEvent:
    """The session is closed; no event follows. ``reason`` says why."""

    client_id: str
    reason: CloseReason = CloseReason.ENDED
    timestamp: float = field(default_factory=time.time)


@dataclass(frozen=True)
class OpenedEvent:
    """A session opened (observers only; a session's own listener never gets it).

    ``transport`` is ``websocket`` for a remote client, ``in-process`` for the desktop's own.
    """

    client_id: str
    transport: str = "in-process"
    timestamp: float = field(default_factory=time.time)


SessionEvent = Union[TranscriptEvent, UtteranceEvent, NoticeEvent, ClosedEvent]
Listener = Callable[[SessionEvent], None]
ObservedEvent = Union[OpenedEvent, TranscriptEvent, UtteranceEvent, NoticeEvent, ClosedEvent]
Observer = Callable[[ObservedEvent], None]
