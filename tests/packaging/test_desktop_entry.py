"""The packaged desktop entry passes desktop-file-validate (errors and hints alike)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ENTRY = Path(__file__).parents[2] / "packaging" / "io.github.whisper_desktop.WhisperDesktop.desktop"


def test_the_packaged_desktop_entry_is_valid() -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed (apt: desktop-file-utils)")
    r = subprocess.run([validate, str(ENTRY)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
