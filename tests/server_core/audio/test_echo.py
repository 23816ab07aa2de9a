"""The echo canceller on real speech with WebRTC's AEC3 (livekit), fed the way two capture
threads feed it: far blocks of 10 ms and near blocks of 100 ms, each stamped on arrival.

The streams are paced in real time by the clock the canceller reads (injected, so a test could
run faster); the canceller's thread, waits and hand-over are the real ones.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile as sf
import soxr

from server_core.audio.echo import EchoCanceller, EchoOptions, EchoUnavailable

SR = 16000
SPEED = 1.0
FAR_BLOCK = SR // 100  # 10 ms, the loopback's block with echo cancellation on
NEAR_BLOCK = SR // 10  # 100 ms, the microphone's
ECHO_GAIN = 10 ** (-13 / 20)

pytest.importorskip("livekit.rtc", reason="echo cancellation needs the livekit package")


class FastClock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self.t0) * SPEED


def clip(speech_dir, name: str, seconds: float) -> np.ndarray:
    audio, rate = sf.read(speech_dir / f"{name}.wav", dtype="float32")
    assert rate == SR
    return audio[: int(seconds * SR)]


def echo_of(far: np.ndarray, delay_s: float, drift_ppm: float = 0.0) -> np.ndarray:
    """What the microphone hears of ``far``: later, quieter, maybe on a drifting clock."""
    src = far
    if drift_ppm:
        src = soxr.resample(far, SR, SR * (1 + drift_ppm * 1e-6)).astype(np.float32)[: far.size]
    d = int(delay_s * SR)
    out = np.zeros_like(far)
    out[d:] = src[: far.size - d]
    return out * ECHO_GAIN


def stream(
    near: np.ndarray, far: np.ndarray | None, far_gap: tuple[float, float] | None = None
) -> tuple[np.ndarray, EchoCanceller]:
    """Feed both streams at (accelerated) real time from two threads; the cleaned microphone."""
    out: list[np.ndarray] = []
    clock = FastClock()
    c = EchoCanceller(out.append, EchoOptions(), clock=clock)

    def pace(signal: np.ndarray, block: int, push, gap) -> None:
        for i in range(0, signal.size, block):
            due = (i + block) / SR  # a block arrives once its last sample was captured
            while clock() < due:
                time.sleep(0.002)
            if gap and gap[0] <= i / SR < gap[1]:
                continue  # a loopback that delivers nothing while nothing plays
            push(signal[i : i + block])

    threads = [threading.Thread(target=pace, args=(near, NEAR_BLOCK, c.near, None))]
    if far is not None:
        threads.append(threading.Thread(target=pace, args=(far, FAR_BLOCK, c.far, far_gap)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.close(timeout=5)
    return np.concatenate(out), c


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x)) + 1e-12))


@pytest.mark.parametrize("delay_ms", [0, 40, 300])
def test_the_echo_is_removed_whatever_the_delay(speech_dir, delay_ms: int) -> None:
    far = clip(speech_dir, "ljs_lj001_b", 12.0)
    near = echo_of(far, delay_ms / 1000)
    out, c = stream(near, far)
    assert out.size == near.size  # nothing lost, nothing added
    settled = slice(8 * SR, 12 * SR)  # after the warm-up (5 s of sound: about 6.5 s of talk)
    attenuation = db(near[settled]) - db(out[settled])
    assert attenuation >= 25, f"{delay_ms} ms: only {attenuation:.1f} dB"
    stats = c.stats.as_dict()
    assert stats["passed_seconds"] <= 0.5  # at most the start, while the clocks settle
    assert stats["compute_per_audio_second"] < 0.05


def test_drifting_clocks(speech_dir) -> None:
    far = clip(speech_dir, "ljs_lj001_b", 13.0)
    near = echo_of(far, 0.06, drift_ppm=100)
    out, _ = stream(near, far)
    settled = slice(9 * SR, 13 * SR)  # it re-adapts for a second after the warm-up
    assert db(near[settled]) - db(out[settled]) >= 20


def aligned(out: np.ndarray, ref: np.ndarray, max_lag: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """``out`` and ``ref`` shifted onto each other (the canceller delays by a few ms)."""
    best = max(
        range(0, max_lag),
        key=lambda k: float(np.dot(out[k:], ref[: ref.size - k])),
    )
    return out[best:], ref[: ref.size - best]


def test_double_talk_keeps_the_users_words(speech_dir) -> None:
    far = clip(speech_dir, "ljs_lj001_b", 14.0)
    own = clip(speech_dir, "jfk_inaugural", 8.0)
    near = echo_of(far, 0.04)
    at = slice(5 * SR, 5 * SR + own.size)
    near[at] += own
    out, _ = stream(near, far)
    got, said = aligned(out[at], own)
    # the user's speech comes through as it was said (the echo under it stays below it)
    assert np.corrcoef(got, said)[0, 1] >= 0.95  # AEC3 alone: 0.86
    assert abs(db(got) - db(said)) <= 3


def test_a_loopback_that_stops_and_starts(speech_dir) -> None:
    far = clip(speech_dir, "ljs_lj001_b", 15.0)
    far[4 * SR : 7 * SR] = 0.0  # nothing plays...
    near = echo_of(far, 0.05)
    out, c = stream(near, far, far_gap=(4.0, 7.0))  # ...and the loopback delivers nothing
    assert out.size == near.size
    assert c.stats.passed_seconds > 1.0  # the microphone went on alone meanwhile
    back = slice(11 * SR, 15 * SR)  # the warm-up (5 s of sound) is over
    assert db(near[back]) - db(out[back]) >= 20


def test_without_far_end_the_microphone_passes_untouched(speech_dir) -> None:
    near = clip(speech_dir, "jfk_inaugural", 4.0)
    out, c = stream(near, None)
    np.testing.assert_array_equal(out, near)
    assert c.stats.passed_seconds == pytest.approx(4.0, abs=0.01)


def test_the_hold_is_short(speech_dir) -> None:
    far = clip(speech_dir, "ljs_lj001_b", 8.0)
    _, c = stream(echo_of(far, 0.04), far)
    stats = c.stats.as_dict()
    # near blocks wait for the 20 ms far blocks plus the lead: a few tens of ms (in clock time)
    assert stats["hold_ms_mean"] <= 40, stats


def test_a_missing_library_is_reported() -> None:
    def broken():
        raise EchoUnavailable("echo cancellation needs the livekit package")

    with pytest.raises(EchoUnavailable, match="livekit"):
        EchoCanceller(lambda x: None, processor_factory=broken)
