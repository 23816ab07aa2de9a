"""Captures against a real PulseAudio server with a virtual speaker and microphone (no mocks).

Speech is played with ``paplay`` into the virtual devices; what the capture hands to its sink must
match the clip (normalised cross-correlation).
"""

from __future__ import annotations

import os
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from server_core.audio.sources import CaptureState, DeviceError, LoopbackSource, MicSource
from tests.support.desktop_env import MIC_FEED_SINK, SPEAKER_SINK, resample_wav
from whisper_desktop.capture import CaptureWorker

SR = 16000
CLIP = "ls_1089_134691_0001.wav"  # 5.4 s of read speech


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def xcorr(ref: np.ndarray, rec: np.ndarray) -> tuple[float, float]:
    """Peak normalised cross-correlation of ``ref`` inside ``rec`` and its lag in seconds."""
    n = len(ref) + len(rec)
    nfft = 1 << (n - 1).bit_length()
    c = np.fft.irfft(np.fft.rfft(rec, nfft) * np.conj(np.fft.rfft(ref, nfft)), nfft)
    lag = int(np.argmax(np.abs(c[: max(1, len(rec) - len(ref) + 1)])))
    seg, r = rec[lag : lag + len(ref)], ref[: len(rec) - lag]
    den = np.linalg.norm(seg) * np.linalg.norm(r)
    return (float(np.dot(seg, r) / den) if den else 0.0), lag / SR


# -- real devices ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pulse(pulse_env):
    """Point this process at the test sound server before sounddevice/soundcard connect."""
    saved = {k: os.environ.get(k) for k in pulse_env.env}
    os.environ.update({k: v for k, v in pulse_env.env.items() if k != "QT_QPA_PLATFORM"})
    yield pulse_env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def clip(speech_dir: Path, tmp_path_factory) -> tuple[Path, np.ndarray]:
    src = speech_dir / CLIP
    wav48 = resample_wav(src, tmp_path_factory.mktemp("clips") / "clip48k.wav")
    return wav48, read_wav(src)


class Collector:
    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.lock = threading.Lock()

    def __call__(self, chunk: np.ndarray) -> None:
        assert chunk.dtype == np.float32 and chunk.ndim == 1
        with self.lock:
            self.chunks.append(chunk.copy())

    def audio(self) -> np.ndarray:
        with self.lock:
            return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)

    def samples(self) -> int:
        with self.lock:
            return sum(len(c) for c in self.chunks)


def record_while_playing(qtbot, pulse, source, sink_name: str, clip) -> tuple[float, float]:
    wav48, ref = clip
    got = Collector()
    worker = CaptureWorker("test", source, got)
    states: list[tuple[str, str]] = []
    worker.state_changed.connect(lambda cid, s, d: states.append((s, d)))
    worker.start()
    try:
        qtbot.waitUntil(lambda: any(s == CaptureState.RUNNING for s, _ in states), timeout=15000)
        start = got.samples()
        player = pulse.play(wav48, sink_name)
        assert player.wait(30) == 0, player.stderr.read()
        qtbot.waitUntil(lambda: got.samples() - start >= len(ref) + SR, timeout=15000)
    finally:
        worker.stop()
    assert worker.state == CaptureState.STOPPED
    return xcorr(ref, got.audio()[start:])


def test_mic_source_records_the_virtual_microphone(qtbot, pulse, clip) -> None:
    corr, lag = record_while_playing(qtbot, pulse, MicSource(""), MIC_FEED_SINK, clip)
    print(f"mic: corr={corr:.3f} lag={lag:.2f}s")
    assert corr > 0.9


def test_loopback_source_records_the_speaker(qtbot, pulse, clip) -> None:
    corr, lag = record_while_playing(qtbot, pulse, LoopbackSource(""), SPEAKER_SINK, clip)
    print(f"loopback: corr={corr:.3f} lag={lag:.2f}s")
    assert corr > 0.9


def test_loopback_by_speaker_name_hears_only_that_speaker(qtbot, pulse, clip) -> None:
    corr, _ = record_while_playing(
        qtbot, pulse, LoopbackSource("VirtualMicFeed"), MIC_FEED_SINK, clip
    )
    assert corr > 0.9


def test_missing_device_is_reported_and_retried_without_blocking(qtbot, pulse) -> None:
    worker = CaptureWorker(
        "test", LoopbackSource("No Such Speaker"), lambda c: None, retry_seconds=0.2
    )
    details: list[tuple[str, str]] = []
    worker.state_changed.connect(lambda cid, s, d: details.append((s, d)))
    t0 = time.monotonic()
    worker.start()
    assert time.monotonic() - t0 < 0.5  # start() returns at once
    qtbot.waitUntil(lambda: sum(s == CaptureState.RETRYING for s, _ in details) >= 2, timeout=10000)
    worker.stop()
    retry = [d for s, d in details if s == CaptureState.RETRYING]
    assert "not connected" in retry[0]
    with pytest.raises(DeviceError):
        MicSource("No Such Microphone").run(lambda c: None, threading.Event())


def test_lost_speaker_is_retried_and_recovers(qtbot, pulse, clip) -> None:
    """Unload the speaker while it is recorded, load it again: the capture comes back."""
    got = Collector()
    worker = CaptureWorker(
        "system", LoopbackSource("VirtualSpeaker"), got, retry_seconds=0.3, stall_seconds=2.0
    )
    states: list[tuple[str, str]] = []
    worker.state_changed.connect(lambda cid, s, d: states.append((s, d)))
    worker.start()
    try:
        qtbot.waitUntil(lambda: (CaptureState.RUNNING, "VirtualSpeaker") in states, timeout=15000)
        module = next(
            line.split("\t")[0]
            for line in pulse.pactl("list", "short", "modules").splitlines()
            if "sink_name=speaker " in line
        )
        pulse.pactl("unload-module", module)
        qtbot.waitUntil(lambda: states[-1][0] == CaptureState.RETRYING, timeout=15000)
        pulse.pactl(
            "load-module",
            "module-null-sink",
            "sink_name=speaker",
            "rate=48000",
            "norewinds=1",
            "sink_properties=device.description=VirtualSpeaker",
        )
        n_running = sum(s == CaptureState.RUNNING for s, _ in states)
        qtbot.waitUntil(
            lambda: sum(s == CaptureState.RUNNING for s, _ in states) > n_running, timeout=20000
        )
        wav48, ref = clip
        start = got.samples()
        player = pulse.play(wav48, "speaker")
        assert player.wait(30) == 0
        qtbot.waitUntil(lambda: got.samples() - start >= len(ref) + SR, timeout=15000)
    finally:
        worker.stop()
        pulse.pactl("set-default-sink", "speaker")
    corr, _ = xcorr(ref, got.audio()[start:])
    print("states:", states)
    assert corr > 0.9
