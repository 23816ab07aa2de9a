"""What the tests share: the one fake engine, the Qt and desktop set-up, server and streaming
helpers. Nothing here is collected as a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
ARTIFACTS = ROOT / "test-artifacts"


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -c code args...`` in the repository with this interpreter, output captured."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def says_cuda_is_missing(stderr: str, prefix: str) -> bool:
    """``stderr`` is the one line a CPU-only torch gives for ``--device cuda`` (after ``prefix``),
    or names a machine whose CUDA has no usable GPU."""
    import torch

    line = (
        f"{prefix}device 'cuda': CUDA is not available: this torch "
        f"({torch.__version__}) is built without CUDA"
    )
    return stderr.strip().splitlines() == [line] or "no usable NVIDIA GPU" in stderr
