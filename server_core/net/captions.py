"""The read-only caption feed: every source's transcript, for viewers (``/ws/captions``).

:class:`CaptionFeed` is an engine observer, so it hears every session: WebSocket clients and
the desktop's in-process ``user`` and ``system`` alike. On the engine's thread it only updates
a short backlog of committed lines under a lock and hands each message to every viewer's loop
(``call_soon_threadsafe``); it never waits for a viewer.

Each :class:`Viewer` has a bounded queue: when a viewer reads too slowly the oldest messages
are dropped and the viewer is told how many (a ``viewer_behind`` notice), so a slow viewer
costs only itself. A viewer that connects late first gets the last committed lines and the
utterances still open, marked ``"backlog": true``. An ``utterance`` message (the final
pass's text of a committed line) goes to every viewer and replaces that line in the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from server_core.events import (
    ClosedEvent,
    ObservedEvent,
    OpenedEvent,
    TranscriptEvent,
    UtteranceEvent,
)

log = logging.getLogger(__name__)

CAPTIONS_PATH = "/ws/captions"
BACKLOG_LINES = 20  # committed utterances a late viewer gets first
VIEWER_QUEUE = 256  # messages waiting for one viewer before the oldest go


@dataclass
class _Source:
    client_id: str
    transport: str
    open_text: str = ""  # the utterance not closed yet
    open_start: float = 0.0
    open_end: float = 0.0
    open_ts: float = 0.0  # wall clock of its last words


def _line(client_id: str, text: str, start: float, end: float, final: bool, ts: float) -> dict:
    return TranscriptEvent(client_id, text, start, end, final, ts).to_wire()


def _source_message(client_id: str, what: str, transport: str, ts: float) -> dict:
    return {
        "type": "source",
        "event": what,
        "client_id": client_id,
        "transport": transport,
        "timestamp": ts,
    }


class Viewer:
    """One viewer's queue, filled from any thread, read on its own loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int = VIEWER_QUEUE) -> None:
        self.loop = loop
        self.limit = limit
        self.items: deque[dict] = deque()
        self.dropped = 0  # dropped since the viewer was last told
        self.dropped_total = 0
        self._ready = asyncio.Event()

    def offer(self, message: dict) -> None:
        """From any thread: returns at once."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self.loop.call_soon_threadsafe(self.put, message)

    def put(self, message: dict) -> None:
        """On the viewer's loop."""
        if len(self.items) >= self.limit:
            self.items.popleft()
            self.dropped += 1
            self.dropped_total += 1
        self.items.append(message)
        self._ready.set()

    async def next(self) -> dict:
        """The next message; a ``viewer_behind`` notice first when some were dropped."""
        while not self.items:
            self._ready.clear()
            await self._ready.wait()
        if self.dropped:
            n, self.dropped = self.dropped, 0
            return {
                "type": "notice",
                "code": "viewer_behind",
                "dropped": n,
                "message": f"this viewer fell behind: {n} caption messages were skipped",
            }
        return self.items.popleft()


@dataclass
class CaptionFeed:
    backlog_lines: int = BACKLOG_LINES
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _sources: dict[str, _Source] = field(default_factory=dict, init=False)
    _backlog: deque[dict] = field(init=False)
    _viewers: set[Viewer] = field(default_factory=set, init=False)
    _detach: Optional[Callable[[], None]] = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._backlog = deque(maxlen=self.backlog_lines)

    # -- the engine side -------------------------------------------------------------------
    def attach(self, add_observer: Callable[..., Callable[[], None]]) -> None:
        """Observe an engine (``engine.add_observer``) until :meth:`detach`."""
        self.detach()
        self._detach = add_observer(self.observe)

    def detach(self) -> None:
        detach, self._detach = self._detach, None
        if detach is not None:
            detach()

    def observe(self, event: ObservedEvent) -> None:
        """The engine's thread: note the event, hand its message to every viewer."""
        with self._lock:
            message = self._note(event)
            viewers = list(self._viewers) if message is not None else []
        for viewer in viewers:
            viewer.offer(message)  # type: ignore[arg-type]

    def _note(self, event: ObservedEvent) -> Optional[dict]:
        if isinstance(event, OpenedEvent):
            self._sources[event.client_id] = _Source(event.client_id, event.transport)
            return _source_message(event.client_id, "joined", event.transport, event.timestamp)
        source = self._sources.get(event.client_id)
        if source is None:  # opened before we observed
            source = self._sources[event.client_id] = _Source(event.client_id, "unknown")
        if isinstance(event, TranscriptEvent):
            if not source.open_text:
                source.open_start = event.start
            source.open_text += event.text
            source.open_end = event.end
            source.open_ts = event.timestamp
            if event.final:
                self._commit(source, event.timestamp)
            return event.to_wire()
        if isinstance(event, UtteranceEvent):
            self._revise(event)
            return event.to_wire()
        if isinstance(event, ClosedEvent):
            self._commit(source, event.timestamp)
            del self._sources[event.client_id]
            return _source_message(event.client_id, "left", source.transport, event.timestamp)
        return None  # a session's notices are for its own client

    def _commit(self, source: _Source, ts: float) -> None:
        text = source.open_text.strip()
        if text:
            line = _line(source.client_id, text, source.open_start, source.open_end, True, ts)
            self._backlog.append({**line, "backlog": True})
        source.open_text = ""

    def _revise(self, event: UtteranceEvent) -> None:
        """The final pass's text replaces the live text of that line in the backlog."""
        start = round(event.start, 3)
        for k in range(len(self._backlog) - 1, -1, -1):
            line = self._backlog[k]
            if line["client_id"] == event.client_id and abs(line["start"] - start) < 0.002:
                self._backlog[k] = {**line, "text": event.text.strip()}
                return

    # -- the viewer side -------------------------------------------------------------------
    def join(self, viewer: Viewer) -> tuple[list[dict], list[dict]]:
        """Register ``viewer``; returns the sources now open and the backlog it gets first
        (committed lines, then the open utterances, not final)."""
        with self._lock:
            self._viewers.add(viewer)
            sources = [
                {"client_id": s.client_id, "transport": s.transport} for s in self._sources.values()
            ]
            backlog = list(self._backlog)
            for s in self._sources.values():
                if s.open_text:
                    text, ts = s.open_text.lstrip(), s.open_ts
                    line = _line(s.client_id, text, s.open_start, s.open_end, False, ts)
                    backlog.append({**line, "backlog": True})
        return sources, backlog

    def leave(self, viewer: Viewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)
