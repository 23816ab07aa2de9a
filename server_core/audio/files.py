"""Read an audio file (any WAV: PCM, float, WAVE_FORMAT_EXTENSIBLE; also FLAC, OGG) as 16 kHz
mono float32 with soundfile (libsndfile), refusing what is not speech-ready with a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from server_core.audio.resample import resample
from server_core.config import SAMPLE_RATE


class AudioFileError(Exception):
    """A file that cannot be turned into 16 kHz mono speech; str() is one line for people."""


def read_wav(path: str | Path, allow_convert: bool = True) -> np.ndarray:
    """Return 16 kHz mono float32.

    Stereo is downmixed and other rates resampled when ``allow_convert``; a file libsndfile
    cannot decode is refused with a clear message rather than read as garbage.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(f"{p}: no such file")
    try:
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise AudioFileError(
            f"{p}: not an audio file that can be read ({e}); convert it first, e.g. "
            f"`sox in.any -r 16000 -c 1 -b 16 out.wav`"
        ) from None
    channels = data.shape[1]
    if channels < 1:
        raise AudioFileError(f"{p}: no audio channels")
    if data.shape[0] == 0:
        raise AudioFileError(f"{p}: holds no audio")
    if not np.isfinite(data).all():
        raise AudioFileError(f"{p}: holds samples that are not numbers (NaN or infinite)")
    if (channels != 1 or rate != SAMPLE_RATE) and not allow_convert:
        raise AudioFileError(f"{p}: {rate} Hz, {channels} channel(s); expected 16000 Hz mono")
    if rate < 8000:
        raise AudioFileError(f"{p}: sample rate {rate} Hz is too low for speech recognition")
    mono = data.mean(axis=1) if channels > 1 else data[:, 0]
    return resample(np.ascontiguousarray(mono), rate, SAMPLE_RATE)
