"""Engine-level observers: who hears every session's events besides the session's listener.

The engine (and the test fake) keeps one :class:`Observers`. Each session's listener is wrapped
so that, on the engine's thread, the listener gets the event first and then every observer; an
:class:`OpenedEvent` tells observers of each new session. Observers must return at once (hand
the event to an asyncio loop or a Qt signal) and a failing one never reaches the engine.
No torch: a leaf.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from server_core.events import Listener, ObservedEvent, Observer, OpenedEvent, SessionEvent

log = logging.getLogger(__name__)


class Observers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._observers: tuple[Observer, ...] = ()  # replaced whole: read without the lock

    def add(self, observer: Observer) -> Callable[[], None]:
        """Register ``observer``; returns the function that removes it (idempotent)."""
        with self._lock:
            self._observers = (*self._observers, observer)

        def remove() -> None:
            with self._lock:
                self._observers = tuple(o for o in self._observers if o is not observer)

        return remove

    def __len__(self) -> int:
        return len(self._observers)

    def notify(self, event: ObservedEvent) -> None:
        for observer in self._observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not take the engine down
                log.exception("caption observer failed on %r", event)

    def opened(self, client_id: str, meta: dict | None) -> None:
        transport = str((meta or {}).get("transport") or "in-process")
        self.notify(OpenedEvent(client_id, transport))

    def wrap(self, listener: Listener) -> Listener:
        """``listener``, then every observer (the ones registered when the event comes)."""

        def observed(event: SessionEvent) -> None:
            try:
                listener(event)
            finally:
                self.notify(event)

        return observed
