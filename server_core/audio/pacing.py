"""Feeding recorded audio into a session as a live source would."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from server_core.config import SAMPLE_RATE
from server_core.contract import SessionHandle


def push_in_real_time(
    session: SessionHandle,
    audio: np.ndarray,
    speed: float = 1.0,
    chunk_seconds: float = 0.1,
    on_push: Callable[[], None] | None = None,
) -> None:
    """Push ``audio`` in chunks at real time x ``speed`` (0 = at once).

    Returns once the audio's last chunk would have been fully spoken; does not end the session.
    """
    chunk = max(1, int(chunk_seconds * SAMPLE_RATE))
    t0 = time.monotonic()
    for i in range(0, audio.shape[0], chunk):
        if speed > 0:
            delay = t0 + i / SAMPLE_RATE / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        session.push(audio[i : i + chunk])
        if on_push:
            on_push()
    if speed > 0:
        delay = t0 + audio.shape[0] / SAMPLE_RATE / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
