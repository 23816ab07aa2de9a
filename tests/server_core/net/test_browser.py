"""The browser client page in headless Chromium with a fake microphone, against the real server."""

from __future__ import annotations

import json
import signal
import time

import pytest

from server_core.wer import wer
from tests.support.browser_helpers import Chromium, find_chromium, first_pass
from tests.support.server_helpers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.model]


def test_browser_page_captions_the_fake_microphone(speech_dir, artifacts_dir):
    if find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    clip = speech_dir / "jfk_inaugural.wav"
    reference = clip.with_suffix(".txt").read_text()
    srv = ServerProcess("--model", "tiny.en", "--language", "en", "--port", "0").wait_listening()
    browser = None
    try:
        browser = Chromium(f"{srv.http_url}/?autostart=1&client_id=browser", fake_mic=clip)
        state: dict = {}
        first = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and first is None:
            time.sleep(1)
            raw = browser.evaluate("JSON.stringify(window.whisperState || null)")
            state = json.loads(raw) if raw else {}
            first = first_pass(state.get("text", ""), reference)
        shot = browser.screenshot(artifacts_dir / "browser_client.png")
        print(f"screenshot: {shot}")
        print(f"page state: {json.dumps(state)[:600]}")
        assert state.get("ready", {}).get("client_id") == "browser", browser.read_log()[-3000:]
        assert state["capture"] == "audioworklet" and state["errors"] == []
        assert state["sentSeconds"] > 5
        assert first is not None, state.get("text")
        score = wer(reference, first)
        print(f"browser page, jfk via fake mic (48 kHz -> 16 kHz in the page): WER {score:.3f}")
        assert score <= 0.15, first
        captions = browser.evaluate("document.getElementById('captions').innerText")
        assert "fellow Americans" in captions
        colors = browser.evaluate(
            "[...document.querySelectorAll('.utterance')].map(e => e.style.color)"
        )
        assert colors and len(set(colors)) == 1  # one client, one color
        # Stop flushes: the server sends what is left, then done
        browser.evaluate("document.getElementById('stop').click()")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not browser.evaluate("window.whisperState.done"):
            time.sleep(0.5)
        assert browser.evaluate("window.whisperState.done") is True
        browser.screenshot(artifacts_dir / "browser_client_stopped.png")
        assert srv.wait_no_clients() == []
    finally:
        if browser is not None:
            browser.close()
        assert srv.stop(signal.SIGINT) == 0, srv.output()
