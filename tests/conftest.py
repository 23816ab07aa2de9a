"""Fixtures for every test: where real speech lives, where artifacts go, and the virtual desktop
and sound server (tests/support/desktop_env.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import ARTIFACTS, ROOT
from tests.support.desktop_env import desktop_env, pulse_env  # noqa: F401 (fixtures)
from tests.support.netns import netns  # noqa: F401 (fixture)

# Converted checkpoints go to a cache of the test run's own, never the user's.
os.environ.setdefault("WHISPER_DESKTOP_CACHE", str(ARTIFACTS / "model-cache"))
# Self-signed server certificates (and any other app data) likewise: never the user's folder.
os.environ.setdefault("WHISPER_DESKTOP_DATA_DIR", str(ARTIFACTS / "data"))


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
