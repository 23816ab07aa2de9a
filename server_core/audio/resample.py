"""The one resampler: streaming polyphase (windowed-sinc low-pass), chunk-size independent.

Serves live captures (block by block) and files (one call on the whole signal) alike.
"""

from __future__ import annotations

from math import gcd

import numpy as np

from server_core.config import SAMPLE_RATE


class Resampler:
    def __init__(self, src_rate: int, dst_rate: int = SAMPLE_RATE, quality: int = 16) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError("sample rates must be positive")
        g = gcd(int(src_rate), int(dst_rate))
        self.up, self.down = int(dst_rate) // g, int(src_rate) // g
        self.passthrough = self.up == self.down
        self.taps = int(np.ceil(quality * max(1.0, self.down / self.up)))
        n = self.taps * self.up
        fc = 0.5 / max(self.up, self.down) * 0.92  # cycles per upsampled sample
        k = np.arange(n) - (n - 1) / 2
        h = 2 * fc * np.sinc(2 * fc * k) * np.kaiser(n, 8.0) * self.up
        # phases[p, i] = h[p + i * up]: the taps that meet input sample (jmax - i)
        self._phases = h.reshape(self.taps, self.up).T.astype(np.float64)
        self._hist = np.zeros(self.taps - 1, dtype=np.float64)
        self.delay_seconds = (n - 1) / 2 / (src_rate * self.up) if not self.passthrough else 0.0
        self._n_in = 0  # input samples consumed so far
        self._m = 0  # next output index

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        if self.passthrough or x.size == 0:
            return x
        buf = np.concatenate([self._hist, x.astype(np.float64)])
        last = self._n_in + x.size - 1
        m_end = (last * self.up + self.up - 1) // self.down + 1
        ms = np.arange(self._m, m_end, dtype=np.int64)
        out = np.empty(0, dtype=np.float32)
        if ms.size:
            t = ms * self.down
            jmax = t // self.up
            phase = t % self.up
            local = jmax - (self._n_in - (self.taps - 1))
            idx = local[:, None] - np.arange(self.taps)[None, :]
            out = np.einsum("ij,ij->i", self._phases[phase], buf[idx]).astype(np.float32)
        self._m = int(m_end)
        self._n_in += x.size
        self._hist = buf[-(self.taps - 1) :] if self.taps > 1 else buf[:0]
        return out


def resample(audio: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """A whole signal at another rate (its last few samples, the filter's delay, are cut)."""
    return Resampler(rate_in, rate_out).process(audio)


def to_mono(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block, dtype=np.float32)
    return block if block.ndim == 1 else block.mean(axis=1)
