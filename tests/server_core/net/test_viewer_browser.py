"""The browser page's watch mode (every source, read-only) and the microphone mode's pickers,
in headless Chromium against the repository's own page.

The viewer test runs the real tiny.en engine: two WebSocket clients stream dev clips at once
and the watch page must show both texts (each line's final text, from the final pass), each in
its own colour (read from the DOM)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from server_core.audio.files import read_wav
from server_core.languages import languages
from server_core.net.app import create_app
from server_core.net.options import ApiOptions
from server_core.wer import wer
from tests.support import ROOT
from tests.support.browser_helpers import Chromium, find_chromium
from tests.support.fake_engine import FakeEngine
from tests.support.server_helpers import AppServer, endpoint, stream_audio

WEB = ROOT / "resources" / "web"  # this checkout's page, whatever the installed one is
CLIPS = {"alice": "jfk_inaugural", "bob": "ls_2412_153948_0000"}

pytestmark = pytest.mark.e2e


@pytest.fixture
def chromium_path():
    if find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")


def wait_for(browser: Chromium, expression: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.evaluate(
            f"(() => {{ try {{ return {expression}; }} catch {{ return null; }} }})()"
        )
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {expression}: {browser.read_log()[-2000:]}")


DOM_COLOURS = """JSON.stringify({
  lines: [...document.querySelectorAll('#captions .utterance')].map(e => [
    e.dataset.clientId, getComputedStyle(e).color, e.querySelector('.text').textContent]),
  legend: [...document.querySelectorAll('#sources li')].map(e => [
    e.dataset.clientId, getComputedStyle(e).color]),
  announced: [...document.querySelectorAll('#announcer p')].map(e => e.textContent),
  live: document.getElementById('captions').getAttribute('aria-live'),
  fontPx: parseFloat(getComputedStyle(document.getElementById('captions')).fontSize),
  wakeNote: [document.getElementById('wake-note').hidden,
             document.getElementById('wake-note').textContent],
})"""


@pytest.mark.model
def test_watch_page_shows_two_real_sources_in_their_colours(
    chromium_path, speech_dir, artifacts_dir
):
    from server_core.config import DecodeOptions, EngineConfig
    from server_core.engine import Engine

    engine = Engine(
        EngineConfig(model="tiny.en", decode=DecodeOptions(language="en"), final_pass=True)
    )
    engine.start()
    browser = None
    try:
        with AppServer(create_app(engine, ApiOptions(web_dir=WEB))) as srv:
            browser = Chromium(f"{srv.http_url}/?mode=watch", width=1100)
            wait_for(browser, "window.whisperWatch && window.whisperWatch.ready")
            audio = {cid: read_wav(speech_dir / f"{clip}.wav") for cid, clip in CLIPS.items()}

            async def both():
                return await asyncio.gather(
                    *(
                        stream_audio(endpoint(srv.ws_url, cid), cid, a, speed=1.5)
                        for cid, a in audio.items()
                    )
                )

            results = asyncio.run(both())
            assert [r.types[-1] for r in results] == ["done", "done"]
            left = "Object.values(window.whisperWatch.sources).filter(s => !s.present).length"
            wait_for(browser, f"{left} === 2")
            watch = json.loads(browser.evaluate("JSON.stringify(window.whisperWatch)"))
            dom = json.loads(browser.evaluate(DOM_COLOURS))
            browser.call(  # tall enough for the whole page in the picture (docs/viewer.png)
                "Emulation.setDeviceMetricsOverride",
                width=1100,
                height=1000,
                deviceScaleFactor=1,
                mobile=False,
            )
            time.sleep(0.3)
            shot = browser.screenshot(artifacts_dir / "viewer.png")
            print(f"screenshot: {shot}")
    finally:
        if browser is not None:
            browser.close()
        engine.stop()
    print(json.dumps({"texts": watch["texts"], "wakeLock": watch["wakeLock"]}))
    for cid, clip in CLIPS.items():  # both texts, as the clients themselves got them
        reference = (speech_dir / f"{clip}.txt").read_text()
        page_text = " ".join(t for c, _, t in dom["lines"] if c == cid)
        result = next(r for r in results if r.client_id == cid)
        # each line shows the final pass's text (the utterance messages), which replaced the
        # live text the client got in its transcript messages
        final_text = " ".join(m["text"] for m in result.messages if m["type"] == "utterance")
        assert wer(reference, page_text) <= 0.3, (cid, page_text)
        assert page_text.split() == final_text.split()
    colours = {}
    for cid, colour, _ in dom["lines"]:
        colours.setdefault(cid, set()).add(colour)
    assert set(colours) == set(CLIPS)
    assert all(len(c) == 1 for c in colours.values()), colours  # one colour per source ...
    assert colours["alice"] != colours["bob"]  # ... and different sources, different colours
    assert {cid: {c} for cid, c in dom["legend"]} == colours  # the legend says which is which
    # Screen readers hear committed lines only: the caption area itself is not live, and each
    # announced line is one whole final utterance of a source.
    assert dom["live"] is None
    finals = sum(1 for m in (r.transcripts for r in results) for t in m if t["final"])
    assert len(dom["announced"]) == finals
    assert watch["revised"] == finals  # every line got its final text
    assert {line.split(":", 1)[0] for line in dom["announced"]} == set(CLIPS)
    assert dom["fontPx"] >= 28  # large text
    # The screen is kept on, or the page says it cannot be and what to do instead.
    assert watch["wakeLock"] in {"active", "unsupported", "denied"}
    hidden, note = dom["wakeNote"]
    assert hidden == (watch["wakeLock"] == "active")
    assert "screen" in note.lower()
    if watch["wakeLock"] != "active":
        assert "device settings" in note


def test_microphone_mode_lists_devices_and_whisper_languages(chromium_path, speech_dir):
    engine = FakeEngine()
    browser = None
    try:
        app = create_app(engine, ApiOptions(web_dir=WEB))
        with AppServer(app) as srv:
            clip = speech_dir / "jfk_inaugural.wav"
            url = f"{srv.http_url}/?language=German&client_id=picker"
            browser = Chromium(url, fake_mic=clip)
            wait_for(browser, "window.whisperState.languages > 0")
            options = json.loads(
                browser.evaluate(
                    "JSON.stringify([...document.querySelectorAll('#language option')]"
                    ".map(o => [o.value, o.textContent]))"
                )
            )
            assert options[0] == ["", "Server default (en)"]
            assert options[1] == ["auto", "Detect automatically"]
            assert sorted(v for v, _ in options[2:]) == sorted(languages())
            assert ["de", "German (de)"] in options
            assert browser.evaluate("document.getElementById('language').value") == "de"
            browser.evaluate("document.getElementById('start').click()")
            wait_for(browser, "window.whisperState.ready")
            assert browser.evaluate("window.whisperState.ready.language") == "de"
            # once the page may listen, the devices have names
            devices = json.loads(
                wait_for(
                    browser,
                    "document.querySelectorAll('#device option').length > 1 && JSON.stringify("
                    "[...document.querySelectorAll('#device option')].map(o => o.textContent))",
                )
            )
            assert devices[0] == "Default microphone" and all(devices[1:])
            assert browser.evaluate("document.body.classList.contains('mode-mic')")
            assert (
                browser.evaluate("getComputedStyle(document.getElementById('sources')).display")
                == "none"
            )
            browser.evaluate("document.getElementById('stop').click()")
            wait_for(browser, "window.whisperState.done")
    finally:
        if browser is not None:
            browser.close()
        engine.stop(flush=False)
