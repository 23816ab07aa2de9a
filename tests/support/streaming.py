"""Test helpers: stream audio into an in-process engine and collect what comes back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from server_core.audio.pacing import push_in_real_time
from server_core.engine import Engine
from server_core.events import ClosedEvent, NoticeEvent, SessionEvent, TranscriptEvent


@dataclass
class Collected:
    events: list[SessionEvent] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)
        if isinstance(event, ClosedEvent):
            self.closed.set()

    @property
    def transcripts(self) -> list[TranscriptEvent]:
        return [e for e in self.events if isinstance(e, TranscriptEvent)]

    @property
    def notices(self) -> list[NoticeEvent]:
        return [e for e in self.events if isinstance(e, NoticeEvent)]

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.transcripts).strip()


def stream(
    engine: Engine,
    client_id: str,
    audio: np.ndarray,
    speed: float = 1.0,
    chunk_seconds: float = 0.1,
    timeout: float = 600.0,
) -> Collected:
    """Push ``audio`` in chunks at real time x speed (0 = at once), end, wait for the close."""
    got = Collected()
    session = engine.open_session(client_id, got)
    push_in_real_time(session, audio, speed, chunk_seconds)
    session.end()
    assert got.closed.wait(timeout), f"{client_id} was not flushed within {timeout} s"
    return got


def in_threads(run: Callable[..., None], items: list[tuple]) -> None:
    """``run(*item)`` for every item, each in its own thread; the first error is raised here."""
    errors: list[BaseException] = []

    def guarded(*args) -> None:
        try:
            run(*args)
        except BaseException as e:  # surfaced in the main thread below
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=item) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def stream_many(engine: Engine, clips: dict[str, np.ndarray], speed: float = 1.0) -> dict:
    results: dict[str, Collected] = {}

    def run(cid: str, audio: np.ndarray) -> None:
        results[cid] = stream(engine, cid, audio, speed)

    in_threads(run, list(clips.items()))
    return results


def reference(wav: Path) -> str:
    return wav.with_suffix(".txt").read_text(encoding="utf-8")
