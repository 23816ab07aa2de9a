"""Which sessions share a step: the ready ones, joined by those half-way to ready."""

from __future__ import annotations

from dataclasses import dataclass

from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig
from server_core.engine.scheduler import Scheduler


@dataclass
class Pending:
    """What the scheduler reads of a session: its undecoded speech and since when it waits."""

    client_id: str
    samples: int
    since: float
    aborted: bool = False

    def ready(self, min_samples: int, max_samples: int) -> bool:
        return self.samples >= min(min_samples, max_samples)

    def pending_since(self) -> float:
        return self.since


def chosen(max_batch: int, *sessions: Pending) -> list[str]:
    scheduler = Scheduler(
        EngineConfig(decode=DecodeOptions(language="en", min_chunk=1.0), max_batch=max_batch)
    )
    ready = scheduler.ready(list(sessions))
    return [s.client_id for s in scheduler.batch(ready, list(sessions))]


def test_half_ready_sessions_join_a_step_oldest_first() -> None:
    second = SAMPLE_RATE
    sessions = (
        Pending("ready", second, since=3.0),
        Pending("half", second // 2, since=1.0),
        Pending("older-half", int(0.7 * second), since=0.5),
        Pending("quarter", second // 4, since=0.0),
        Pending("gone", second, since=0.0, aborted=True),
    )
    assert chosen(8, *sessions) == ["ready", "older-half", "half"]
    assert chosen(2, *sessions) == ["ready", "older-half"]
    assert chosen(1, *sessions) == ["ready"]


def test_no_step_when_nobody_is_ready() -> None:
    assert chosen(8, Pending("half", SAMPLE_RATE // 2, since=0.0)) == []
