"""The resampler that brings device audio to 16 kHz (no devices needed)."""

from __future__ import annotations

import numpy as np
import pytest

from server_core.audio.resample import Resampler

SR = 16000


@pytest.mark.parametrize("src", [48000, 44100, 22050, 8000])
def test_resampler_keeps_a_tone_and_is_chunk_independent(src: int) -> None:
    t = np.arange(src * 2) / src
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    resampler = Resampler(src)
    whole = resampler.process(x)
    assert abs(len(whole) - 2 * SR) <= 1
    r = Resampler(src)
    rng = np.random.default_rng(0)
    parts, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 3000))
        parts.append(r.process(x[i : i + n]))
        i += n
    chunked = np.concatenate(parts)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    t16 = np.arange(len(whole)) / SR - resampler.delay_seconds
    expected = 0.5 * np.sin(2 * np.pi * 440 * t16)
    mid = slice(SR // 4, -SR // 4)  # away from the edges of the filter
    assert np.max(np.abs(whole[mid] - expected[mid])) < 0.01


def test_resampler_removes_what_16k_cannot_hold() -> None:
    src = 48000
    t = np.arange(src) / src
    out = Resampler(src).process(np.sin(2 * np.pi * 12000 * t).astype(np.float32))
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) < 0.01  # would alias to 4 kHz


def test_resampler_passthrough() -> None:
    x = np.random.default_rng(1).standard_normal(1234).astype(np.float32)
    np.testing.assert_array_equal(Resampler(SR).process(x), x)
