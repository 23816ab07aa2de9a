"""Read a WAV as 16 kHz mono float32, converting what converts well and refusing the rest."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from server_core.audio.resample import resample
from server_core.config import SAMPLE_RATE


class AudioFileError(Exception):
    """A file that cannot be turned into 16 kHz mono speech; str() is one line for people."""


_PCM_SCALE = {1: None, 2: 32768.0, 3: 8388608.0, 4: 2147483648.0}


def _pcm_to_float(raw: bytes, width: int, channels: int) -> np.ndarray:
    if width == 1:  # 8-bit WAV is unsigned
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        ints = (
            b[:, 0].astype(np.int32)
            | (b[:, 1].astype(np.int32) << 8)
            | (b[:, 2].astype(np.int32) << 16)
        )
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        data = ints.astype(np.float32) / _PCM_SCALE[3]
    else:
        dtype = {2: "<i2", 4: "<i4"}[width]
        data = np.frombuffer(raw, dtype=dtype).astype(np.float32) / _PCM_SCALE[width]
    return data.reshape(-1, channels)


def read_wav(path: str | Path, allow_convert: bool = True) -> np.ndarray:
    """Return 16 kHz mono float32 in [-1, 1].

    Stereo is downmixed and other rates resampled when ``allow_convert``; compressed or
    exotic WAVs are refused with a clear message rather than decoded into garbage.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(f"{p}: no such file")
    try:
        with wave.open(str(p), "rb") as w:
            channels, width, rate, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(n)
    except (wave.Error, EOFError) as e:
        raise AudioFileError(
            f"{p}: not a PCM WAV file ({e}); convert it first, e.g. "
            f"`sox in.any -r 16000 -c 1 -b 16 out.wav`"
        ) from None
    if width not in _PCM_SCALE:
        raise AudioFileError(f"{p}: unsupported sample width {width * 8} bit")
    if channels < 1:
        raise AudioFileError(f"{p}: no audio channels")
    if len(raw) < width * channels:
        raise AudioFileError(f"{p}: holds no audio")
    usable = len(raw) - len(raw) % (width * channels)
    data = _pcm_to_float(raw[:usable], width, channels)
    if (channels != 1 or rate != SAMPLE_RATE) and not allow_convert:
        raise AudioFileError(f"{p}: {rate} Hz, {channels} channel(s); expected 16000 Hz mono")
    if rate < 8000:
        raise AudioFileError(f"{p}: sample rate {rate} Hz is too low for speech recognition")
    mono = data.mean(axis=1) if channels > 1 else data[:, 0]
    return resample(mono, rate, SAMPLE_RATE)
