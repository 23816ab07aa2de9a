"""Headless Debian Chromium driven through its DevTools websocket (no npm, no downloads)."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from server_core.wer import normalize

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def find_chromium() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if Path(path).is_file():
            return path
    return shutil.which("chromium")


class Chromium:
    """One headless browser with one page; ``fake_mic`` feeds a WAV file as the microphone."""

    def __init__(
        self,
        url: str,
        fake_mic: Path | None = None,
        width: int = 1100,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        exe = find_chromium()
        if exe is None:
            raise RuntimeError("chromium is not installed")
        self.profile = Path(tempfile.mkdtemp(prefix="wd-chromium-"))
        args = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            "--autoplay-policy=no-user-gesture-required",
            f"--window-size={width},700",
        ]
        if fake_mic is not None:
            args += [
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={fake_mic}",
            ]
        args += list(extra_args)
        self.log = open(self.profile / "chromium.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(args + [url], stdout=self.log, stderr=subprocess.STDOUT)
        self._ids = itertools.count(1)
        ws = connect(self._page_ws_url(), max_size=64 * 1024 * 1024, open_timeout=20)
        self.ws = ws.__enter__()  # closed in close()

    def _page_ws_url(self, timeout: float = 30.0) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.read_log()[-2000:]}")
            if port_file.is_file() and port_file.read_text().strip():
                port = port_file.read_text().split()[0]
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                        pages = [t for t in json.load(r) if t.get("type") == "page"]
                except OSError:
                    pages = []
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.2)
        raise RuntimeError("chromium's DevTools endpoint did not come up")

    def call(self, method: str, **params) -> dict:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def read_log(self) -> str:
        self.log.flush()
        return (self.profile / "chromium.log").read_text(errors="replace")

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def first_pass(text: str, reference: str) -> str | None:
    """The fake microphone loops its file: the words up to the first full reading."""
    words, ref = normalize(text), normalize(reference)
    tail = ref[-3:]
    for i in range(len(ref) // 2, len(words) - 2):
        if words[i : i + 3] == tail:
            return " ".join(words[: i + 3])
    return None


def png_alpha(path: Path) -> list[list[int]]:
    """The alpha channel of an 8-bit RGBA PNG (what Chromium writes when the page is see-through)
    as rows of values; an opaque RGB PNG gives 255 everywhere. Plain zlib, no imaging library."""
    import struct
    import zlib

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and interlace == 0 and color_type in (2, 6), header
    channels = 4 if color_type == 6 else 3
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append([line[x + 3] if channels == 4 else 255 for x in range(0, stride, channels)])
        previous = line
    return rows
