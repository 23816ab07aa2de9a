"""Shared fixtures: where real speech lives, and which offline model packs are installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

# Converted checkpoints go to a cache of the test run's own, never the user's.
os.environ.setdefault("WHISPER_DESKTOP_CACHE", str(ARTIFACTS / "model-cache"))


def find_speech_dir() -> Path | None:
    env = os.environ.get("WHISPER_DESKTOP_SPEECH_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "speech")
    for c in candidates:
        if (c / "jfk_inaugural.wav").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    d = find_speech_dir()
    if d is None:
        pytest.skip(
            "real speech clips not found: set WHISPER_DESKTOP_SPEECH_DIR "
            "or put them in ../shared/speech"
        )
    return d


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
