"""The watch page's overlay mode, as OBS loads it as a browser source: headless Chromium against
the real server and the real tiny.en engine. The page must be see-through, show only the chosen
source, in the asked size, with an outline and at most the asked number of lines."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from server_core.audio.files import read_wav
from server_core.net.app import create_app
from server_core.net.options import ApiOptions
from server_core.wer import wer
from tests.support import ROOT
from tests.support.browser_helpers import Chromium, find_chromium, png_alpha
from tests.support.server_helpers import AppServer, endpoint, stream_audio

WEB = ROOT / "resources" / "web"  # this checkout's page, whatever the installed one is
CLIPS = {"alice": "jfk_inaugural", "bob": "ls_2412_153948_0000"}
QUERY = "mode=overlay&sources=alice&lines=3&size=48&outline=3&clear=0"

pytestmark = [pytest.mark.e2e, pytest.mark.model]

COMPUTED = """JSON.stringify((() => {
  const css = (el) => getComputedStyle(el);
  const row = document.querySelector('.ov-source[data-client-id="alice"]');
  const box = row.querySelector('.ov-lines'), text = row.querySelector('.text');
  const lineHeight = parseFloat(css(text).lineHeight);
  return {
    html: css(document.documentElement).backgroundColor,
    body: css(document.body).backgroundColor,
    chrome: [...document.querySelectorAll('header, #status, footer')]
      .map((e) => css(e).display),
    sources: [...document.querySelectorAll('.ov-source')].map((e) => e.dataset.clientId),
    text: text.textContent,
    color: css(text).color,
    fontPx: parseFloat(css(text).fontSize),
    shadow: css(text).textShadow,
    stroke: css(text).webkitTextStrokeWidth,
    lineHeight,
    maxHeight: parseFloat(css(box).maxHeight),
    shownLines: Math.round(box.clientHeight / lineHeight),
    textLines: Math.round(text.getBoundingClientRect().height / lineHeight),
    boxRect: (() => { const r = box.getBoundingClientRect();
                      return [r.left, r.top, r.width, r.height]; })(),
    announced: [...document.querySelectorAll('#announcer p')].map((e) => e.textContent),
  };
})())"""


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


def test_stream_overlay_is_transparent_outlined_and_keeps_the_last_lines(speech_dir, artifacts_dir):
    if find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from server_core.config import DecodeOptions, EngineConfig
    from server_core.engine import Engine

    engine = Engine(EngineConfig(model="tiny.en", decode=DecodeOptions(language="en")))
    engine.start()
    browser = None
    try:
        with AppServer(create_app(engine, ApiOptions(web_dir=WEB))) as srv:
            browser = Chromium(f"{srv.http_url}/?{QUERY}", width=700)
            # as OBS composites it: whatever the page does not paint stays see-through
            browser.call("Emulation.setDefaultBackgroundColorOverride",
                         color={"r": 0, "g": 0, "b": 0, "a": 0})  # fmt: skip
            wait_for(browser, "window.whisperOverlay && window.whisperOverlay.ready")
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
            alice = next(r for r in results if r.client_id == "alice")
            finals = sum(1 for t in alice.transcripts if t["final"])
            wait_for(browser, f"window.whisperOverlay.finals >= {finals}")
            time.sleep(0.3)
            dom = json.loads(browser.evaluate(COMPUTED))
            shot = browser.screenshot(artifacts_dir / "stream-overlay.png")
            print(f"screenshot: {shot}")
    finally:
        if browser is not None:
            browser.close()
        engine.stop()
    print(json.dumps({k: dom[k] for k in ("text", "shadow", "shownLines", "textLines")}))
    # see-through, no chrome
    assert dom["html"] == dom["body"] == "rgba(0, 0, 0, 0)"
    assert set(dom["chrome"]) == {"none"}
    alpha = png_alpha(shot)
    left, top, width, height = (round(v) for v in dom["boxRect"])
    above = [a for row in alpha[: max(1, top - 80)] for a in row]
    assert max(above) == 0  # nothing at all painted above the captions
    inside = [a for row in alpha[top : top + height] for a in row[left : left + width]]
    assert sum(1 for a in inside if a == 255) > 2000  # the text and its outline are opaque
    assert sum(1 for a in inside if a == 0) > len(inside) // 3  # between the letters: clear
    # only the chosen source, its words as the client got them
    assert dom["sources"] == ["alice"]
    reference = (speech_dir / "jfk_inaugural.txt").read_text()
    assert wer(reference, dom["text"]) <= 0.3, dom["text"]
    assert dom["text"].split() == alice.text.split()
    # the asked size, an outline of 3 px in black all round, at most 3 lines (the latest)
    assert dom["fontPx"] == 48
    shadows = dom["shadow"].split("px, ")
    assert len(shadows) == 16 and all(s.startswith("rgb(0, 0, 0)") for s in shadows)
    assert "rgb(0, 0, 0) 3px 0px 0px" in dom["shadow"]
    assert "rgb(0, 0, 0) -3px" in dom["shadow"] and "0px -3px 0px" in dom["shadow"]
    assert dom["maxHeight"] == pytest.approx(3 * dom["lineHeight"])
    assert dom["textLines"] > 3  # the clip's text is longer than the box ...
    assert dom["shownLines"] == 3  # ... which shows three lines of it
    # screen readers still hear each finished line of the chosen source
    assert dom["announced"] and all(a.startswith("alice: ") for a in dom["announced"])
