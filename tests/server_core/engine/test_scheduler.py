"""Scheduler fairness on the real engine: continuous pushers are served round-robin."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from server_core.audio.files import read_wav
from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig
from server_core.engine import Engine

pytestmark = pytest.mark.model


def waits_between_turns(step_log, client_id: str) -> list[int]:
    """For each stretch where the client was ready, how many turns others got before it."""
    waits, current = [], 0
    for served, ready in step_log:
        if client_id in served:
            waits.append(current)
            current = 0
        elif client_id in ready:
            current += 1
    return waits


def test_three_continuous_sessions_never_wait_more_than_two_turns(speech_dir):
    engine = Engine(
        EngineConfig(
            model="tiny.en", decode=DecodeOptions(language="en"), max_batch=1, lag_policy="keep"
        )
    )
    engine.start()
    engine.step_log = []
    speech = np.concatenate([read_wav(speech_dir / "ls_2412_153948_0000.wav")] * 8)
    sessions = [engine.open_session(f"s{i}", lambda e: None) for i in range(3)]
    stop = threading.Event()

    def pusher(session, offset: int) -> None:
        chunk = SAMPLE_RATE // 10
        i = offset
        while not stop.is_set() and i < speech.shape[0]:
            session.push(speech[i : i + chunk])
            i += chunk
            time.sleep(0.1 / 3)  # three times real time: the engine is always behind

    threads = [
        threading.Thread(target=pusher, args=(s, k * SAMPLE_RATE)) for k, s in enumerate(sessions)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 180
    while len(engine.step_log) < 12 and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    log = list(engine.step_log)
    engine.stop(flush=False)
    served = [ids for ids, _ in log]
    assert len(served) >= 12, f"too few steps to judge: {served}"
    for s in sessions:
        waits = waits_between_turns(log, s.client_id)
        assert waits, f"{s.client_id} was never served"
        assert max(waits) <= 2, (s.client_id, waits, served)
