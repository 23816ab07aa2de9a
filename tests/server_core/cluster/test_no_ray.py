"""Ray is an extra: without it the server runs, and ``cluster`` says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.server_helpers import ServerProcess

RAY_MISSING = "whisper-desktop: error: Ray is not installed: pip install 'whisper-desktop[cluster]'"


@pytest.fixture
def no_ray(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python finds a ``ray`` that cannot be imported (first on the path)."""
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "__init__.py").write_text('raise ImportError("no ray in this test")\n')
    return {"PYTHONPATH": f"{ROOT}:{tmp_path}"}


def run_main(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "whisper_desktop", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )


def test_the_blocker_blocks(no_ray: dict[str, str]) -> None:
    done = run_main(["--server-only", "--port", "-1"], no_ray)  # a fast error, no model
    assert done.returncode == 2
    probe = subprocess.run(
        [sys.executable, "-c", "import ray"],
        capture_output=True,
        text=True,
        env={**os.environ, **no_ray},
    )
    assert probe.returncode != 0 and "no ray in this test" in probe.stderr


def test_cluster_without_ray_is_one_clear_line_and_exit_2(no_ray: dict[str, str]) -> None:
    done = run_main(["cluster", "--replicas", "2"], no_ray)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [RAY_MISSING]


def test_cluster_help_and_bad_flags_need_no_ray(no_ray: dict[str, str]) -> None:
    done = run_main(["cluster", "--help"], no_ray)
    assert done.returncode == 0
    assert "--gpus-per-replica" in done.stdout and "--model" in done.stdout
    bad = run_main(["cluster", "--min-replicas", "2"], no_ray)
    assert bad.returncode == 2
    assert "--min-replicas and --max-replicas go together" in bad.stderr


@pytest.mark.model
def test_the_server_runs_without_ray(no_ray: dict[str, str]) -> None:
    srv = ServerProcess("--model", "tiny.en", "--language", "en", "--port", "0", env=no_ray)
    try:
        srv.wait_listening()
        health = srv.get("/health")
        assert health["status"] == "ok" and health["model"] == "tiny.en"
        assert "replicas" not in health  # the single server's own answer
    finally:
        assert srv.stop() == 0, srv.output()
