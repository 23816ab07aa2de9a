"""The resampler that brings device audio and files to 16 kHz (soxr; no devices needed)."""

from __future__ import annotations

import numpy as np
import pytest

from server_core.audio.resample import Resampler, resample

SR = 16000


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("src", [48000, 44100, 22050, 8000])
def test_resampler_keeps_a_tone_and_is_chunk_independent(src: int) -> None:
    x = tone(src, 2.0)
    whole = resample(x, src)
    assert whole.dtype == np.float32 and abs(len(whole) - 2 * SR) <= 1
    r = Resampler(src)
    rng = np.random.default_rng(0)
    parts, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 3000))
        parts.append(r.process(x[i : i + n]))
        i += n
    parts.append(r.process(np.zeros(0, np.float32), last=True))
    chunked = np.concatenate(parts)
    assert abs(len(chunked) - len(whole)) <= 1
    n = min(len(chunked), len(whole))
    np.testing.assert_allclose(chunked[:n], whole[:n], atol=1e-4)
    expected = tone(SR, 2.0)[: len(whole)]  # aligned in time: soxr removes its delay
    mid = slice(SR // 4, -SR // 4)
    assert np.max(np.abs(whole[mid] - expected[mid])) < 0.01


def test_resampler_removes_what_16k_cannot_hold() -> None:
    out = resample(tone(48000, 1.0, hz=12000), 48000)
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) < 0.01  # would alias to 4 kHz


def test_resampler_passthrough() -> None:
    x = np.random.default_rng(1).standard_normal(1234).astype(np.float32)
    np.testing.assert_array_equal(Resampler(SR).process(x), x)
    np.testing.assert_array_equal(resample(x, SR), x)


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Resampler(0)
