"""What the tests share: the one fake engine, the Qt and desktop set-up, server and streaming
helpers. Nothing here is collected as a test."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
ARTIFACTS = ROOT / "test-artifacts"
