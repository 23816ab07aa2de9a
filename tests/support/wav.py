"""WAV files for tests: a tone of some seconds, as a user's file would be."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_wav(path: Path, seconds: float, rate: int = 16000, channels: int = 1) -> Path:
    """A 220 Hz tone of ``seconds`` at ``rate``, 16-bit, ``channels`` copies."""
    t = np.arange(int(seconds * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(x, channels).tobytes())
    return path
