"""Reading audio files with soundfile: float and WAVE_FORMAT_EXTENSIBLE WAVs, written by
soundfile itself, come back as the same 16 kHz mono speech; what is not audio is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server_core.audio.files import AudioFileError, read_wav
from server_core.audio.resample import resample

SR = 16000


def header_format_tag(path: Path) -> int:
    """The WAV's fmt chunk's format tag: 1 PCM, 3 IEEE float, 0xFFFE EXTENSIBLE."""
    raw = path.read_bytes()
    at = raw.index(b"fmt ") + 8
    return int.from_bytes(raw[at : at + 2], "little")


@pytest.mark.parametrize(
    ("fmt", "subtype", "tag"),
    [
        ("WAV", "FLOAT", 3),
        ("WAV", "DOUBLE", 3),
        ("WAVEX", "FLOAT", 0xFFFE),
        ("WAVEX", "PCM_24", 0xFFFE),
        ("WAVEX", "PCM_16", 0xFFFE),
        ("WAV", "PCM_U8", 1),
    ],
)
def test_real_speech_in_any_wav_flavour_reads_back(
    speech_dir: Path, tmp_path: Path, fmt: str, subtype: str, tag: int
) -> None:
    original = read_wav(speech_dir / "fleurs_en_004.wav")
    stereo48 = np.repeat(resample(original, SR, 48000)[:, None], 2, axis=1)
    path = tmp_path / f"speech-{fmt}-{subtype}.wav"
    sf.write(path, stereo48, 48000, format=fmt, subtype=subtype)
    assert header_format_tag(path) == tag
    back = read_wav(path)
    assert back.dtype == np.float32 and abs(back.size - original.size) <= 2
    n = min(back.size, original.size)
    assert np.corrcoef(original[:n], back[:n])[0, 1] > (0.99 if subtype == "PCM_U8" else 0.999)


def test_flac_is_read_too(tmp_path: Path) -> None:
    x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR)).astype(np.float32)
    sf.write(tmp_path / "a.flac", x, SR)
    np.testing.assert_allclose(read_wav(tmp_path / "a.flac"), x, atol=1e-3)


def test_16k_mono_only_when_conversion_is_not_allowed(tmp_path: Path) -> None:
    sf.write(tmp_path / "st.wav", np.zeros((4800, 2), np.float32), 48000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="48000 Hz, 2 channel"):
        read_wav(tmp_path / "st.wav", allow_convert=False)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "not an audio file"), (b"RIFF\x00\x00\x00\x00WAVEjunk" * 3, "not an audio file")],
)
def test_what_is_not_audio_is_refused_clearly(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=match) as e:
        read_wav(path)
    assert "sox" in str(e.value) and "\n" not in str(e.value)


def test_missing_empty_and_non_finite_files(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file"):
        read_wav(tmp_path / "nope.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="no audio"):
        read_wav(tmp_path / "empty.wav")
    bad = np.zeros(SR, np.float32)
    bad[100] = np.nan
    sf.write(tmp_path / "nan.wav", bad, SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="not numbers"):
        read_wav(tmp_path / "nan.wav")
