"""A session's recent audio, kept so that a finished utterance can be decoded again whole.

The live window loses the front of a long utterance when it slides; the tape keeps the stream
from where the open utterance began (the session trims it), never more than ``limit`` samples.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class AudioTape:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._chunks: deque[tuple[int, np.ndarray]] = deque()  # (stream sample, audio)
        self.end = 0  # stream sample after the newest audio
        self._kept = 0

    @property
    def start(self) -> int:
        return self._chunks[0][0] if self._chunks else self.end

    @property
    def samples(self) -> int:
        return self._kept

    def append(self, chunk: np.ndarray) -> None:
        if chunk.size:
            self._chunks.append((self.end, chunk))
            self.end += int(chunk.shape[0])
            self._kept += int(chunk.shape[0])
        self.trim(self.end - self.limit)

    def trim(self, before: int) -> None:
        """Forget the audio before stream sample ``before`` (whole chunks)."""
        while self._chunks:
            start, chunk = self._chunks[0]
            if start + chunk.shape[0] > before:
                return
            self._chunks.popleft()
            self._kept -= int(chunk.shape[0])

    def slice(self, start: int, end: int) -> np.ndarray:
        """Stream samples [start, end) that are still kept (a copy)."""
        parts = []
        for at, chunk in self._chunks:
            lo, hi = max(start, at), min(end, at + chunk.shape[0])
            if lo < hi:
                parts.append(chunk[lo - at : hi - at])
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)
