"""Where the tests' real speech lives: ``$WHISPER_DESKTOP_SPEECH_DIR`` (a larger set, WAV or
FLAC), else the clips that ship in ``tests/data/speech`` (FLAC, see its SOURCES.md).

The tests name clips as ``<id>.wav`` (browsers, PulseAudio and ``wave`` read files by path), so
FLAC clips are decoded once into a folder of WAVs beside their transcripts."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import soundfile as sf

from tests.support import ROOT

SHIPPED = ROOT / "tests" / "data" / "speech"
MARKER = "jfk_inaugural"  # every speech folder has it
REFERENCE_SUFFIXES = (".txt", ".spk.txt", ".segments.tsv", ".rttm")


class SpeechDirError(Exception):
    """The speech folder named by the environment holds no clips."""


def find_speech_dir() -> Path:
    """The folder the clips come from: the environment's, else the shipped one."""
    env = os.environ.get("WHISPER_DESKTOP_SPEECH_DIR")
    candidate = Path(env) if env else SHIPPED
    if not any((candidate / f"{MARKER}{s}").is_file() for s in (".wav", ".flac")):
        raise SpeechDirError(
            f"no {MARKER}.wav or .flac in {candidate}"
            + (
                " (WHISPER_DESKTOP_SPEECH_DIR): point it at a speech folder or unset it"
                if env
                else ": the clips should ship with the repository"
            )
        )
    return candidate


def as_wav_dir(source: Path, cache: Path) -> Path:
    """``source`` itself when it holds no FLAC; otherwise ``cache`` with each FLAC decoded to
    16-bit WAV and every WAV and reference file copied (made again when any of them changed)."""
    flacs = sorted(source.glob("*.flac"))
    if not flacs:
        return source
    others = sorted(
        f for f in source.iterdir() if f.suffix == ".wav" or f.name.endswith(REFERENCE_SUFFIXES)
    )
    stamp = "\n".join(f"{f.name} {f.stat().st_size} {f.stat().st_mtime_ns}" for f in flacs + others)
    if (cache / ".stamp").is_file() and (cache / ".stamp").read_text() == stamp:
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".speech-", dir=cache.parent))
    for f in flacs:
        audio, rate = sf.read(f, dtype="int16")
        sf.write(fresh / f"{f.stem}.wav", audio, rate, subtype="PCM_16")
    for f in others:
        shutil.copyfile(f, fresh / f.name)
    (fresh / ".stamp").write_text(stamp)
    shutil.rmtree(cache, ignore_errors=True)
    fresh.rename(cache)
    return cache
