"""The one resampler (soxr): live captures block by block, files in one call.

A stream keeps soxr's state between blocks, so what comes out does not depend on how the
device cut its blocks; soxr compensates its filter's delay, so the output is aligned in time.
"""

from __future__ import annotations

import numpy as np
import soxr

from server_core.config import SAMPLE_RATE

QUALITY = "HQ"  # soxr's 20-bit quality: far beyond what speech recognition can tell


def _check(src_rate: int, dst_rate: int) -> None:
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")


class Resampler:
    """Mono float32 at ``src_rate`` in, at ``dst_rate`` out, in blocks of any size."""

    def __init__(self, src_rate: int, dst_rate: int = SAMPLE_RATE) -> None:
        _check(src_rate, dst_rate)
        self.passthrough = int(src_rate) == int(dst_rate)
        self._stream = (
            None
            if self.passthrough
            else soxr.ResampleStream(src_rate, dst_rate, 1, dtype="float32", quality=QUALITY)
        )

    def process(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        """The output for this block; ``last`` flushes what the filter still holds."""
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1))
        if self._stream is None:
            return x
        return self._stream.resample_chunk(x, last=last)


def resample(audio: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """A whole signal at another rate."""
    _check(rate_in, rate_out)
    audio = np.ascontiguousarray(np.asarray(audio, dtype=np.float32).reshape(-1))
    if rate_in == rate_out or audio.size == 0:
        return audio
    return soxr.resample(audio, rate_in, rate_out, quality=QUALITY).astype(np.float32, copy=False)


def to_mono(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block, dtype=np.float32)
    return block if block.ndim == 1 else block.mean(axis=1)
