"""Fixtures for every test: the real speech (tests/support/speech.py), where artifacts go, and
the virtual desktop and sound server (tests/support/desktop_env.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import ARTIFACTS
from tests.support.desktop_env import desktop_env, pulse_env  # noqa: F401 (fixtures)
from tests.support.netns import netns  # noqa: F401 (fixture)
from tests.support.speech import SpeechDirError, as_wav_dir, find_speech_dir

# Converted checkpoints go to a cache of the test run's own, never the user's.
os.environ.setdefault("WHISPER_DESKTOP_CACHE", str(ARTIFACTS / "model-cache"))
# Self-signed server certificates (and any other app data) likewise: never the user's folder.
os.environ.setdefault("WHISPER_DESKTOP_DATA_DIR", str(ARTIFACTS / "data"))


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    """A folder of ``<id>.wav`` clips with their ``<id>.txt`` references."""
    try:
        source = find_speech_dir()
    except SpeechDirError as e:
        pytest.fail(str(e), pytrace=False)
    return as_wav_dir(source, ARTIFACTS / "speech")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
