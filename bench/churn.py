"""Careless clients by the thousand: connect, send some speech, vanish (no close handshake),
against a `--server-only` process. Prints one JSON object: the server's resident memory after
a warm-up and after the cycles, sessions left behind, and tracebacks in its log.

    python bench/churn.py --cycles 1000 --model tiny.en

Every other cycle drops while the engine is decoding that client's speech; the rest drop
right after their first frame. Dropped sessions wait ``--resume-grace`` seconds for a resume
(the server's option), so the figure is taken once they are all gone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_core.audio.files import read_wav  # noqa: E402
from server_core.audio.wire import FrameFormat, encode_frame  # noqa: E402

LISTEN_RE = re.compile(r"Listening on (ws://[\d.]+:(\d+)\S*)")
SPEECH = Path(os.environ.get("WHISPER_DESKTOP_SPEECH_DIR", ROOT.parent / "shared" / "speech"))


class Server:
    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "whisper_desktop", "--server-only", *args]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := LISTEN_RE.search(line):
                    self.ws = m.group(1).split("?")[0]
                    self.http = f"http://127.0.0.1:{m.group(2)}"
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("the server did not start:\n" + "\n".join(self.lines[-40:]))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.http + path, timeout=10) as r:
            return json.load(r)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def wait_no_sessions(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while (left := self.get("/clients")["clients"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        return left


async def cycle(server: Server, i: int, speech: np.ndarray, busy: bool) -> None:
    from websockets.asyncio.client import connect

    ws = await connect(f"{server.ws}?client_id=churn{i}")
    await ws.recv()  # ready
    if busy:  # 3 s of speech at once: the engine gets busy with it
        for k in range(0, speech.size, 1600):
            await ws.send(encode_frame(speech[k : k + 1600], FrameFormat.NPY))
        await asyncio.sleep(0.3)
    else:
        await ws.send(encode_frame(speech[:4800], FrameFormat.NPY))
    ws.transport.abort()  # vanish: no close handshake


async def cycles(server: Server, start: int, count: int, speech: np.ndarray) -> None:
    for i in range(start, start + count):
        await cycle(server, i, speech, busy=i % 2 == 0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=1000)
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--resume-grace", type=float, default=5.0)
    p.add_argument("--server-arg", action="append", default=[], help="extra server flag")
    p.add_argument("--log", type=Path, help="write the server's log here")
    a = p.parse_args()
    speech = read_wav(SPEECH / "ls_1089_134686_0000.wav")[: 3 * 16000]
    server = Server(
        "--model", a.model, "--language", "en", "--port", "0", "--max-clients", "8",
        "--resume-grace", str(a.resume_grace), "--log-level", "INFO", *a.server_arg,
    )  # fmt: skip
    try:
        asyncio.run(cycles(server, 0, 50, speech))  # warm-up: pools and caches fill
        server.wait_no_sessions(a.resume_grace + 60)
        time.sleep(3)  # the server trims freed memory 2 s after the last client left
        before = server.rss_mib()
        t0 = time.monotonic()
        asyncio.run(cycles(server, 1000, a.cycles, speech))
        took = time.monotonic() - t0
        left = server.wait_no_sessions(a.resume_grace + 60)
        time.sleep(3)
        after = server.rss_mib()
        log = "\n".join(server.lines)
        if a.log:
            a.log.write_text(log + "\n")
    finally:
        server.proc.terminate()
        server.proc.wait(60)
    print(
        json.dumps(
            {
                "model": a.model,
                "cycles": a.cycles,
                "seconds": round(took, 1),
                "rss_mib_before": round(before, 1),
                "rss_mib_after": round(after, 1),
                "rss_growth_mib": round(after - before, 1),
                "sessions_left": len(left),
                "tracebacks": log.count("Traceback"),
                "errors_logged": len(re.findall(r" ERROR ", log)),
                "first_error": next(
                    (ln for ln in server.lines if " ERROR " in ln or "Traceback" in ln), None
                ),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
