"""Records engine events into the history store. No Qt.

An utterance row is created with the first text of an utterance and updated as more text is
committed; ``final`` marks utterances the engine closed. The final pass's text of a closed
utterance (``revise``) then replaces its text, the live text kept beside it. With ``enabled``
off (the user turned the history off) nothing is written.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from whisper_desktop.history.store import HistoryStore


@dataclass
class _OpenUtterance:
    id: int | None = None
    start: float = 0.0
    end: float = 0.0
    text: str = ""


RECENT_UTTERANCES = 64  # closed utterances per session that a final text may still revise


@dataclass
class _OpenSession:
    id: int
    utterance: _OpenUtterance = field(default_factory=_OpenUtterance)
    # closed utterances waiting for their final text: rounded start -> row id
    closed: OrderedDict[float, int] = field(default_factory=OrderedDict)

    def remember_closed(self, utt: _OpenUtterance) -> None:
        if utt.id is not None:
            self.closed[round(utt.start, 3)] = utt.id
            while len(self.closed) > RECENT_UTTERANCES:
                self.closed.popitem(last=False)


class HistoryRecorder:
    """Turns a stream of transcript events into committed utterances.

    An utterance's text is the concatenation of its events' texts up to the one with
    ``final=True``. The row is written with the first text and updated on every event.
    """

    def __init__(
        self, store: HistoryStore, model: str = "", language: str = "", enabled: bool = True
    ) -> None:
        self.store = store
        self.model = model
        self.language = language
        self._enabled = enabled
        self._open: dict[str, _OpenSession] = {}

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, on: bool) -> None:
        """Turning the history off closes the open sessions (what was said stays); turning it
        on records from the next text on."""
        if not on:
            self.close_all()
        self._enabled = on

    def session_started(self, client_id: str, started_at: float | None = None) -> int | None:
        """A new session of ``client_id``; a still-open one of the same id is closed first.
        None when the history is off."""
        if client_id in self._open:
            self.session_closed(client_id)
        if not self._enabled:
            return None
        sid = self.store.open_session(client_id, self.model, self.language, started_at)
        self._open[client_id] = _OpenSession(sid)
        return sid

    def add(self, client_id: str, text: str, start: float, end: float, final: bool) -> None:
        if not self._enabled:
            return
        session = self._open.get(client_id)
        if session is None:
            session = self._open[client_id] = _OpenSession(
                self.store.open_session(client_id, self.model, self.language)
            )
        utt = session.utterance
        if utt.id is None and not text.strip():
            if final:
                session.utterance = _OpenUtterance()
            return
        if utt.id is None:
            utt.start = start
        utt.text += text
        utt.end = max(utt.end, end, utt.start)
        utt.id = self.store.save_utterance(
            session.id, client_id, utt.start, utt.end, utt.text.strip(), final, utt.id
        )
        if final:
            session.remember_closed(utt)
            session.utterance = _OpenUtterance()

    def revise(self, client_id: str, text: str, start: float) -> bool:
        """The final pass's text of the closed utterance that began at ``start`` (stream
        seconds) replaces its text; True if that utterance was found."""
        session = self._open.get(client_id)
        if session is None or not self._enabled:
            return False
        key = next((k for k in session.closed if abs(k - start) < 0.002), None)
        if key is None:
            return False
        self.store.revise_utterance(session.closed.pop(key), text.strip())
        return True

    def session_closed(self, client_id: str) -> None:
        session = self._open.pop(client_id, None)
        if session is None:
            return
        utt = session.utterance
        if utt.id is not None:  # text shown but never finalized: keep it, marked final
            self.store.save_utterance(
                session.id, client_id, utt.start, utt.end, utt.text.strip(), True, utt.id
            )
        self.store.close_session(session.id)

    def close_all(self) -> None:
        for client_id in list(self._open):
            self.session_closed(client_id)

    def open_clients(self) -> list[str]:
        return list(self._open)

    def open_session_ids(self) -> set[int]:
        """The sessions still being written (not to be deleted under the recorder's feet)."""
        return {s.id for s in self._open.values()}
