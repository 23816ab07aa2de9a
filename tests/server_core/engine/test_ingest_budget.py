"""A session's VAD takes a bounded share of its backlog per turn, and nothing is lost."""

from __future__ import annotations

import numpy as np

from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig
from server_core.engine.inbox import Inbox
from server_core.engine.scheduler import Scheduler


def chunks(n: int, seconds: float = 1.0) -> list[np.ndarray]:
    return [np.full(int(seconds * SAMPLE_RATE), i, np.float32) for i in range(n)]


def test_take_with_a_budget_takes_the_oldest_and_sees_end_only_at_the_last() -> None:
    inbox = Inbox("c")
    for chunk in chunks(5):
        inbox.push(chunk)
    inbox.end()
    taken, ending = inbox.take(2 * SAMPLE_RATE)
    assert [int(c[0]) for c in taken] == [0, 1] and not ending
    taken, ending = inbox.take(SAMPLE_RATE // 2)  # at least one chunk, even over budget
    assert [int(c[0]) for c in taken] == [2] and not ending
    taken, ending = inbox.take()
    assert [int(c[0]) for c in taken] == [3, 4] and ending
    assert inbox.received == 5 * SAMPLE_RATE and not inbox.has_audio()


class Lagging:
    def __init__(self, lag: float) -> None:
        self.lag = lag


def test_budget_covers_real_time_and_lets_the_skip_policy_see_everything() -> None:
    decode = DecodeOptions(language="en", audio_max_len=12.0)
    skip = Scheduler(EngineConfig(decode=decode, max_lag=30.0))
    assert skip.ingest_budget(Lagging(5.0), 0.1) == 6 * SAMPLE_RATE  # half a window
    assert skip.ingest_budget(Lagging(5.0), 4.0) == 8 * SAMPLE_RATE  # twice the turn's time
    assert skip.ingest_budget(Lagging(31.0), 3.0) is None  # over the bound: take it all
    keep = Scheduler(EngineConfig(decode=decode, max_lag=30.0, lag_policy="keep"))
    assert keep.ingest_budget(Lagging(300.0), 1.0) == 6 * SAMPLE_RATE
