"""A "phone" in a network namespace: headless Chromium opens a page with a fake microphone and
this prints what the page saw, as one JSON line. Run it inside the namespace (Chromium's
DevTools port is on the namespace's own loopback):

    ip netns exec NS python -m tests.support.phone_driver URL CLIP SPKI_SHA256 REFERENCE_TXT

SPKI_SHA256 (base64) pins the server's key for Chromium, instead of ignoring every certificate
error. The page is stopped (flushed) once it has captioned the clip once, or after 120 s.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.support.browser_helpers import Chromium, first_pass


def main(url: str, clip: str, spki: str, reference_file: str) -> dict:
    reference = Path(reference_file).read_text()
    browser = Chromium(
        url, fake_mic=Path(clip), extra_args=(f"--ignore-certificate-errors-spki-list={spki}",)
    )
    out: dict = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(1)
            raw = browser.evaluate("JSON.stringify(window.whisperState || null)")
            state = json.loads(raw) if raw else {}
            out["state"] = state
            out["first_pass"] = first_pass(state.get("text", ""), reference)
            if out["first_pass"] or state.get("errors"):
                break
        out["page"] = browser.evaluate(
            "({protocol: location.protocol, host: location.host, secure: window.isSecureContext,"
            " status: document.getElementById('status').textContent})"
        )
        browser.evaluate("document.getElementById('stop').click()")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not browser.evaluate("window.whisperState.done"):
            time.sleep(0.5)
        out["done"] = browser.evaluate("window.whisperState.done")
    except Exception as e:
        out["exception"] = repr(e)
    finally:
        out["log_tail"] = browser.read_log()[-2000:]
        browser.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
