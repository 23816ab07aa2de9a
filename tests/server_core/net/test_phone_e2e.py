"""A phone as a microphone, for real (issue 10 item 2): headless Chromium in a network
namespace (its address is not loopback) opens the https LAN page, token included, exactly as
the real server (tiny.en) printed it, with a fake microphone playing a dev clip; Chromium
trusts only the server's generated key (SPKI pin). The words arrive on the page over WSS."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from server_core.net.tls import describe
from server_core.wer import wer
from tests.support import ROOT
from tests.support.browser_helpers import find_chromium
from tests.support.server_helpers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.model]

CLIP = "jfk_inaugural"


def test_phone_on_the_lan_captions_its_microphone_over_https(netns, speech_dir, tmp_path):
    if find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    ns, host_ip = netns
    data_dir = tmp_path / "data"
    srv = ServerProcess(
        "--model", "tiny.en", "--language", "en", "--host", host_ip, "--port", "0",
        env={"WHISPER_DESKTOP_DATA_DIR": str(data_dir)},
    ).wait_listening()  # fmt: skip
    try:
        assert srv.ws_url.startswith(f"wss://{host_ip}:"), srv.output()
        assert srv.certfile == data_dir / "tls" / "server-cert.pem"
        pinned = describe(srv.certfile, data_dir / "tls" / "server-key.pem", self_signed=True)
        assert pinned.fingerprint == srv.fingerprint  # what it printed is what it serves
        lan = re.search(r"LAN page (https://\S+)", "\n".join(srv.stdout))
        assert lan, srv.output()
        page = lan.group(1)
        assert page.startswith(f"https://{host_ip}:{srv.port}/?token=")
        driver = subprocess.run(
            [
                "ip", "netns", "exec", ns, sys.executable, "-m", "tests.support.phone_driver",
                f"{page}&autostart=1&client_id=phone", str(speech_dir / f"{CLIP}.wav"),
                pinned.spki_sha256, str(speech_dir / f"{CLIP}.txt"),
            ],
            capture_output=True, text=True, timeout=300, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert driver.returncode == 0, driver.stderr[-3000:]
        seen = json.loads(driver.stdout.strip().splitlines()[-1])
        state = seen.get("state", {})
        print("page:", seen.get("page"), "text:", state.get("text", "")[:300])
        shown = seen.get("page") or {}
        assert shown.get("protocol") == "https:", seen.get("log_tail")
        assert shown.get("host") == f"{host_ip}:{srv.port}"
        assert shown.get("secure") is True  # so the page may ask for the microphone at all
        assert (state.get("ready") or {}).get("client_id") == "phone", json.dumps(seen)[:3000]
        assert state["capture"] == "audioworklet" and state["errors"] == []
        assert seen["first_pass"], state.get("text")
        reference = (speech_dir / f"{CLIP}.txt").read_text()
        score = wer(reference, seen["first_pass"])
        print(f"phone over https, {CLIP} via fake mic: WER {score:.3f}")
        assert score <= 0.15, seen["first_pass"]
        assert seen["done"] is True  # stop flushed over wss and the server said done
    finally:
        assert srv.stop(signal.SIGINT) == 0, srv.output()
