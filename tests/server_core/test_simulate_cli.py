"""`whisper-desktop simulate` refuses bad input with one clear line, and reads WAVs well."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from server_core.audio.files import AudioFileError, read_wav
from tests.support import says_cuda_is_missing


def run_simulate(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "whisper_desktop.main", "simulate", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def write_wav(path: Path, data: np.ndarray, rate: int) -> Path:
    data = np.atleast_2d(data.T).T if data.ndim == 1 else data
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_missing_file_is_one_clear_line(tmp_path):
    proc = run_simulate(str(tmp_path / "nope.wav"), "--model", "tiny.en")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.wav'}: no such file"]


def test_not_a_wav_is_refused(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"ID3 this is an mp3, not a wav" * 10)
    proc = run_simulate(str(bad), "--model", "tiny.en")
    assert proc.returncode == 2
    assert "not an audio file that can be read" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_model_is_one_clear_line(tmp_path):
    wav = write_wav(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    proc = run_simulate(str(wav), "--model", "no-such-model")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "no-such-model" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_one_clear_line(tmp_path):
    wav = write_wav(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    proc = run_simulate(str(wav), "--model", "tiny.en", "--device", "cuda")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert says_cuda_is_missing(proc.stderr, "error: "), proc.stderr


def test_beams_out_of_range_are_one_clear_line(tmp_path):
    wav = write_wav(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    proc = run_simulate(str(wav), "--model", "tiny.en", "--beams", "9")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "beams must be a whole number from 1 (greedy) to 8, not 9" in proc.stderr


def test_stereo_44k_is_downmixed_and_resampled(tmp_path):
    t = np.arange(44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, tone], axis=1)
    audio = read_wav(write_wav(tmp_path / "s.wav", stereo, 44100))
    assert audio.dtype == np.float32 and audio.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(int(spectrum.argmax()) - 440) <= 1  # 1 Hz bins over one second


def test_too_low_rate_is_refused(tmp_path):
    wav = write_wav(tmp_path / "low.wav", np.zeros(4000, np.float32), 4000)
    with pytest.raises(AudioFileError, match="too low"):
        read_wav(wav)


def test_real_speech_matches_after_conversion(speech_dir, tmp_path):
    original = read_wav(speech_dir / "fleurs_en_004.wav")
    up = np.repeat(original[:, None], 2, axis=1)  # stereo copy at 16 kHz
    converted = read_wav(write_wav(tmp_path / "st.wav", up, 16000))
    assert np.corrcoef(original, converted)[0, 1] > 0.999
