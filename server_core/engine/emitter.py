"""A session's voice: turns committed text into events for its listener, in order.

Keeps what was sent of the open utterance, so a later step sends only the new end of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from server_core.events import (
    ClosedEvent,
    CloseReason,
    Listener,
    NoticeEvent,
    SessionEvent,
    TranscriptEvent,
    UtteranceEvent,
)

# told when an utterance's final text went out: (start, end, the utterance's whole live text,
# whether it was cut inside speech by the utterance cap)
UtteranceClosed = Callable[[float, float, str, bool], None]

log = logging.getLogger(__name__)


class Emitter:
    def __init__(self, client_id: str, listener: Listener) -> None:
        self.client_id = client_id
        self._listener = listener
        self.sent_text = ""  # text of the open utterance already sent
        self.sent_end = 0.0  # stream seconds where the last sent text ended
        self.utterance_open = False  # text of the current utterance was sent without final
        self.utterance_start = 0.0  # stream seconds where the open utterance's text began
        self.utterance_chars = 0  # characters sent of the open utterance
        self.utterance_text = ""  # all text sent of the open utterance
        self.silenced = False  # aborted: only the ClosedEvent goes out
        self.closed = False
        self.on_utterance_closed: UtteranceClosed | None = None
        self._closing_cut = False

    def start_window(self, start_seconds: float) -> None:
        self.sent_text = ""
        self.sent_end = start_seconds
        self.utterance_open = False

    def _deliver(self, event: SessionEvent) -> None:
        try:
            self._listener(event)
        except Exception:  # a broken listener must not take the engine down
            log.exception("listener of %s failed", self.client_id)

    def emit(self, event: SessionEvent) -> None:
        if not self.silenced and not self.closed:
            self._deliver(event)

    def text(self, text: str, end: float, final: bool) -> None:
        end = max(end, self.sent_end)
        if not self.utterance_open:
            self.utterance_start = self.sent_end
            self.utterance_chars = 0
            self.utterance_text = ""
        self.utterance_chars += len(text)
        self.utterance_text += text
        self.emit(TranscriptEvent(self.client_id, text, self.sent_end, end, final))
        self.sent_end = end
        self.utterance_open = not final
        if final and self.on_utterance_closed is not None and not self.silenced:
            cut = self._closing_cut
            self.on_utterance_closed(self.utterance_start, end, self.utterance_text, cut)

    def partial(self, utterance_text: str, fresh: str, end: float) -> None:
        """Send ``fresh``, the unsent end of the open utterance's ``utterance_text``."""
        self.text(fresh, end, final=False)
        self.sent_text = utterance_text

    def final(self, fresh: str, end: float, cut: bool = False) -> None:
        """Close the utterance: its remaining text, final (nothing if nothing was open).
        ``cut``: the utterance cap closed it inside speech."""
        self._closing_cut = cut
        if fresh or self.utterance_open:
            self.text(fresh, end, final=True)
        self.sent_text = ""
        self._closing_cut = False

    def utterance(self, text: str, start: float, end: float) -> None:
        """The final text of a whole utterance (the second pass)."""
        self.emit(UtteranceEvent(self.client_id, text, start, end))

    def notice(self, code: str, message: str, skipped_seconds: float = 0.0) -> None:
        self.emit(NoticeEvent(self.client_id, code, message, skipped_seconds=skipped_seconds))

    def close(self, reason: CloseReason) -> None:
        if not self.closed:
            self.closed = True
            self._deliver(ClosedEvent(self.client_id, reason))
