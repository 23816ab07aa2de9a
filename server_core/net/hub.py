"""The engine plus the set of live WebSocket connections."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from server_core.contract import EngineHandle, SessionHandle
from server_core.net.captions import CaptionFeed
from server_core.net.options import ApiOptions
from server_core.net.protocol import CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_TRY_LATER, Refused
from server_core.net.relay import Relay

log = logging.getLogger(__name__)


def _load_malloc_trim() -> Optional[Callable[[int], int]]:
    """glibc's ``malloc_trim``, or None on other C libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _load_malloc_trim()


@dataclass(eq=False)
class Held:
    """A session that may outlive its connection: for ``resume_grace`` seconds after the
    connection drops, a client presenting ``token`` takes it over (resume)."""

    client_id: str
    session: SessionHandle
    relay: Relay
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    samples: int = 0  # audio accepted into the session, over all its connections
    owner: Optional[object] = None  # the connection serving it; None while parked
    expiry: Optional[asyncio.TimerHandle] = None


class Hub:
    """The engine, the live WebSocket connections and the sessions they hold."""

    TRIM_DELAY = 2.0  # seconds after the last client left
    TRIM_MAX_INTERVAL = 30.0

    def __init__(self, engine: EngineHandle, options: ApiOptions) -> None:
        self.engine = engine
        self.options = options
        self.connections: dict[int, object] = {}
        self.held: dict[str, Held] = {}  # by client id
        self.draining = False
        self.config_lock = asyncio.Lock()
        self._trim_handle: Optional[asyncio.TimerHandle] = None
        self._last_trim: Optional[float] = None
        self.captions = CaptionFeed(options.caption_backlog)  # every session, for viewers
        self.captions.attach(engine.add_observer)

    def reserve(self, conn: object) -> None:
        """A slot for ``conn``. Parked sessions take none: they are bounded apart (``park``)."""
        if self.draining:
            raise Refused(CLOSE_GOING_AWAY, "shutting_down", "the server is shutting down")
        if len(self.connections) >= self.options.max_clients:
            raise Refused(
                CLOSE_TRY_LATER,
                "too_many_clients",
                f"the server is full ({self.options.max_clients} clients); try again later",
            )
        self.connections[id(conn)] = conn

    # -- sessions that survive a dropped connection ---------------------------------------
    def hold(self, held: Held) -> None:
        self.held[held.client_id] = held

    def claim(self, client_id: str, token: str, conn: object) -> Optional[Held]:
        """The session ``client_id`` for ``conn``, if ``token`` is its resume token; None if
        there is no such session (its grace period ran out). A connection still serving it
        (its client's network changed and the old socket has not noticed yet) is superseded."""
        held = self.held.get(client_id)
        if held is None:
            return None
        if not secrets.compare_digest(token.encode(), held.token.encode()):
            raise Refused(
                CLOSE_POLICY, "bad_resume", f"wrong resume token for client_id {client_id!r}"
            )
        if held.expiry is not None:
            held.expiry.cancel()
            held.expiry = None
        held.session.set_paused(False)
        old, held.owner = held.owner, conn
        if old is not None:
            old.supersede()  # type: ignore[attr-defined]
        return held

    def parked(self) -> list[Held]:
        return [h for h in self.held.values() if h.owner is None]

    def park(self, held: Held, grace: float) -> None:
        """Keep ``held`` for ``grace`` seconds without a connection, then abort it.

        A session that got no audio and said nothing has nothing to resume: it ends now. At
        most ``max_clients`` sessions are parked; the one parked longest makes room."""
        held.owner = None
        if held.samples == 0 and held.relay.seq == 0:
            self._end_parked(held)
            return
        parked = sorted(self.parked(), key=lambda h: h.expiry.when() if h.expiry else 0.0)
        for old in parked[: max(0, len(parked) - self.options.max_clients)]:
            log.info("client %s: too many sessions waiting to resume", old.client_id)
            self._end_parked(old)
        # Its audio waits undecoded until the client is back: clients that never come back
        # cost no compute, and the memory of decoding them (measured with bench/churn.py,
        # tiny.en, 1,000 dropped clients: +229 MiB) is not spent.
        held.session.set_paused(True)
        loop = asyncio.get_running_loop()
        held.expiry = loop.call_later(grace, self._expire, held)
        log.info("client %s: connection lost; session kept %g s to resume", held.client_id, grace)

    def _expire(self, held: Held) -> None:
        if self.held.get(held.client_id) is held and held.owner is None:
            log.info("client %s: not resumed in time; session closed", held.client_id)
            self._end_parked(held)

    def _end_parked(self, held: Held, trim: bool = True) -> None:
        self.drop(held)
        with contextlib.suppress(Exception):
            held.session.abort()
        if trim:
            self._schedule_trim()

    def take_over(self, client_id: str) -> Optional[SessionHandle]:
        """A client that reconnects without its resume token gets a new session: the parked
        one of that id ends (returned, to wait for its close). None if none is parked."""
        held = self.held.get(client_id)
        if held is None or held.owner is not None:
            return None
        self._end_parked(held)
        return held.session

    def drop(self, held: Held) -> None:
        if self.held.get(held.client_id) is held:
            del self.held[held.client_id]
        if held.expiry is not None:
            held.expiry.cancel()
            held.expiry = None

    def drop_all(self) -> None:
        """The server stops: parked sessions go now (from any thread once its loop is done),
        and the caption feed stops observing the engine (which may serve a next server)."""
        self.captions.detach()
        for held in self.parked():
            self._end_parked(held, trim=False)

    def release(self, conn: object) -> None:
        if self.connections.pop(id(conn), None) is not None:
            self._schedule_trim()

    def _schedule_trim(self) -> None:
        """Give memory freed by ended sessions back to the OS, a moment after they end.

        A session's audio and decoder tensors are freed by the engine's thread, and glibc keeps
        freed pages in its arenas; under connect/disconnect churn the resident size creeps up
        without a trim (measured on tiny.en: about +5% per 200 cycles; flat with it).
        """
        if _malloc_trim is None:
            return
        loop = asyncio.get_running_loop()
        if self._last_trim is None:
            self._last_trim = loop.time()
        if self._trim_handle is not None:  # debounce: trim once the churn pauses ...
            self._trim_handle.cancel()
        overdue = loop.time() - self._last_trim > self.TRIM_MAX_INTERVAL  # ... or now and then

        def fire() -> None:
            self._trim_handle = None
            self._last_trim = loop.time()
            threading.Thread(
                target=_malloc_trim, args=(0,), name="malloc-trim", daemon=True
            ).start()

        self._trim_handle = loop.call_later(0 if overdue else self.TRIM_DELAY, fire)
