"""The built package, as a user installs it (issue 23): ``python -m build`` makes the sdist and,
from it, the wheel; the wheel goes into empty venvs, run from outside the checkout.

- plain: the example client, no torch; it streams a shipped FLAC clip to a real server (this
  checkout's, tiny.en) and prints its words; ``--server-only`` names the missing extra;
- ``[server]`` (torch's CPU build first): ``--server-only`` serves ``/``, the watch page and
  ``/health`` from the installed resources;
- ``[desktop]`` on top: Qt finds the icons, the style sheet and the German translation in the
  installed package.

Needs pip's index (torch==2.13.0 and the dependencies) and about 3 GB of disk; one build and
three installs take a few minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import pytest

from server_core.models.resolve import converted_cache_dir
from server_core.wer import wer
from tests.support import ROOT
from tests.support.server_helpers import ServerProcess

pytestmark = [pytest.mark.package, pytest.mark.timeout(900)]

SPEECH = ROOT / "tests" / "data" / "speech"
CLIP = "jfk_inaugural"
TORCH = "torch==2.13.0"  # scripts/install.sh's: the CPU build is the one the index has here


def run(cmd: list[str], cwd: Path, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    """``cmd`` outside the checkout, with no path into it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        cmd, cwd=cwd, env={**env, **kw.pop("env", {})}, capture_output=True, text=True,
        timeout=timeout, **kw,
    )  # fmt: skip
    return done


def pip_install(venv: Path, *what: str) -> None:
    done = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *what], venv)
    assert done.returncode == 0, done.stderr[-3000:]


def make_venv(path: Path) -> Path:
    done = run([sys.executable, "-m", "venv", "--clear", str(path)], path.parent)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


@pytest.fixture(scope="module")
def client_venv(dist, tmp_path_factory) -> Path:
    venv = make_venv(tmp_path_factory.mktemp("client") / "venv")
    pip_install(venv, str(dist["wheel"]))
    yield venv
    shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="module")
def server_venv(dist, tmp_path_factory) -> Path:
    venv = make_venv(tmp_path_factory.mktemp("server") / "venv")
    pip_install(venv, TORCH)  # first, so that no CUDA build is pulled
    pip_install(venv, f"{dist['wheel']}[server]")
    yield venv
    shutil.rmtree(venv, ignore_errors=True)  # torch and Qt: about 2 GB


@pytest.fixture(scope="module")
def checkout_server():
    srv = ServerProcess("--model", "tiny.en", "--language", "en", "--port", "0").wait_listening()
    yield srv
    srv.stop()


def test_the_wheel_holds_the_resources_and_no_test_data(dist) -> None:
    names = zipfile.ZipFile(dist["wheel"]).namelist()
    for resource in (
        "server_core/resources/app.qss",
        "server_core/resources/icons/whisper-desktop.svg",
        "server_core/resources/web/index.html",
        "server_core/resources/web/watch.js",
        "server_core/resources/i18n/whisper_desktop_de.qm",
    ):
        assert resource in names, resource
    assert not [n for n in names if n.startswith("tests/") or n.endswith(".flac")], names
    top = dist["sdist"].name.removesuffix(".tar.gz")
    in_sdist = set(tarfile.open(dist["sdist"]).getnames())
    for path in ("pyproject.toml", "README.md", "resources/app.qss", "resources/web/index.html",
                 "resources/i18n/whisper_desktop_de.qm", "whisper_desktop/main.py"):  # fmt: skip
        assert f"{top}/{path}" in in_sdist, path


def test_the_plain_install_is_the_client_without_torch(client_venv) -> None:
    bin_dir = client_venv / "bin"
    done = run([str(bin_dir / "whisper-desktop-client"), "--help"], client_venv)
    assert done.returncode == 0 and "--file" in done.stdout, done.stderr
    done = run([str(bin_dir / "python"), "-c", "import torch"], client_venv)
    assert done.returncode != 0 and "No module named 'torch'" in done.stderr, done.stderr
    done = run([str(bin_dir / "whisper-desktop"), "--server-only"], client_venv)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "pip install 'whisper-desktop[server]'" in lines[0] and "torch" in lines[0], lines


def test_the_installed_client_streams_a_file_to_a_server(client_venv, checkout_server) -> None:
    done = run(
        [
            str(client_venv / "bin" / "whisper-desktop-client"),
            "--server",
            checkout_server.ws_url.rsplit("/ws/", 1)[0],
            "--file",
            str(SPEECH / f"{CLIP}.flac"),
        ],
        client_venv,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    score = wer((SPEECH / f"{CLIP}.txt").read_text(), done.stdout)
    print(f"installed client: WER {score:.3f}: {done.stdout!r}")
    assert score <= 0.2, done.stdout


def test_the_server_extra_serves_the_pages_and_health(server_venv, checkout_server) -> None:
    # the checkout's server converted tiny.en's offline pack; this venv has no pack
    checkpoints = sorted(converted_cache_dir().glob("tiny.en-*.pt"))
    assert checkpoints, f"no converted tiny.en in {converted_cache_dir()}"
    srv = ServerProcess(
        "--model", str(checkpoints[-1]), "--language", "en", "--port", "0",
        program=str(server_venv / "bin" / "whisper-desktop"), cwd=server_venv,
    ).wait_listening()  # fmt: skip
    try:
        pages = {}
        for path in ("/", "/?mode=watch", "/web/app.js", "/web/watch.js", "/health"):
            with urllib.request.urlopen(srv.http_url + path, timeout=10) as r:
                pages[path] = (r.status, r.read().decode())
        health = json.loads(pages["/health"][1])
    finally:
        assert srv.stop() == 0, srv.output()
    assert all(status == 200 for status, _ in pages.values()), pages.keys()
    assert "web/app.js" in pages["/"][1] and pages["/"][1] == pages["/?mode=watch"][1]
    assert "startWatching" in pages["/web/watch.js"][1]
    assert health["status"] == "ok" and health["device"] == "cpu", health


DESKTOP_PROBE = """
import json
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication
import whisper_desktop
from whisper_desktop.icons import ICONS, style_sheet
from whisper_desktop.i18n import install_translators, translations_dir

app = QApplication([])
svg = ICONS / "whisper-desktop.svg"
translators = install_translators(app, "de")
print(json.dumps({
    "package": whisper_desktop.__file__,
    "icons": str(ICONS),
    "icon_loads": not QIcon(str(svg)).pixmap(32, 32).isNull(),
    "style_sheet": len(style_sheet()),
    "translations": str(translations_dir()),
    "quit_in_german": QCoreApplication.translate("AppActions", "Quit"),
}))
"""


def test_the_desktop_extra_finds_its_resources_in_the_wheel(server_venv, dist) -> None:
    pip_install(server_venv, f"{dist['wheel']}[desktop]")
    done = run(
        [str(server_venv / "bin" / "python"), "-c", DESKTOP_PROBE],
        server_venv,
        env={"QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    site = str(server_venv / "lib")
    for key in ("package", "icons", "translations"):
        assert found[key].startswith(site), found  # the installed copy, not the checkout
    assert found["icon_loads"] and found["style_sheet"] > 100, found
    assert found["quit_in_german"] == "Beenden", found
