"""``whisper-desktop cluster`` under real-time clients: the same clients against 1, 2, ...
replicas on this machine. Prints one JSON object.

    python bench/cluster.py --model tiny.en --clients 4 --replicas 1 2 --max-item 60

Needs the ``cluster`` extra. Each client streams one dev item (``bench/dev_set.py``, client k
item k) in 100 ms frames at real time over the WebSocket protocol (``latency.py``'s client).
Per replica count: pooled streaming WER, the largest lag ``/clients`` reported (the cluster's
view), the end lag (``done`` after ``end``), and which replica served each client. The
replicas share this machine's CPUs: ``--threads`` per replica is the machine's CPUs divided by
the replicas unless given, so 1 and 2 replicas use the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from dev_set import load_items  # noqa: E402
from latency import run_clients  # noqa: E402

from server_core.wer import edit_distance, normalize  # noqa: E402

LISTEN_RE = re.compile(r"Listening on ws://([\d.]+):(\d+)")


def start_cluster(args: list[str]) -> tuple[subprocess.Popen, str, str, float]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "whisper_desktop", "cluster", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        m = LISTEN_RE.search(line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            host, port = m.groups()
            return (
                proc,
                f"ws://{host}:{port}/ws/transcription",
                f"http://{host}:{port}",
                (time.monotonic() - t0),
            )
    raise RuntimeError("the cluster did not start:\n" + "".join(lines))


def placements(http: str, stop: threading.Event, seen: dict[str, str]) -> None:
    while not stop.wait(0.5):
        try:
            with urllib.request.urlopen(f"{http}/clients", timeout=5) as r:
                for c in json.load(r)["clients"]:
                    seen[c["client_id"]] = c["replica"]
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--language", default="en")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    p.add_argument("--max-item", type=float, default=60.0, help="seconds per client")
    p.add_argument("--threads", type=int, help="torch threads per replica")
    p.add_argument("--cluster-arg", action="append", default=[], help="extra cluster flag")
    a = p.parse_args(argv)
    items = load_items("de" if a.language == "de" else "en", a.max_item)
    queues = [[items[k % len(items)]] for k in range(a.clients)]
    cpus = os.cpu_count() or 1
    report: dict = {"model": a.model, "clients": a.clients, "cpus": cpus, "runs": {}}
    for n in a.replicas:
        threads = a.threads or max(1, cpus // n)
        args = [
            *("--model", a.model, "--language", a.language, "--replicas", str(n)),
            *("--threads", str(threads), "--cpus-per-replica", str(cpus / n / 2)),
            *("--num-cpus", str(cpus), *a.cluster_arg),
        ]
        proc, url, http, startup = start_cluster(args)
        seen: dict[str, str] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=placements, args=(http, stop, seen), daemon=True)
        watcher.start()
        try:
            runs, max_lag, _ = asyncio.run(run_clients(url, http, queues))
        finally:
            stop.set()
            proc.send_signal(signal.SIGINT)
            proc.wait(120)
        english = a.language == "en"
        errors = words = 0
        for run in runs:
            ref = normalize(run.item.reference, english)
            errors += edit_distance(ref, normalize(run.text, english))
            words += len(ref)
        result = {
            "replicas": n,
            "threads_per_replica": threads,
            "startup_s": round(startup, 1),
            "audio_s": round(sum(r.item.seconds for r in runs), 1),
            "wer_stream": round(errors / max(1, words), 4),
            "max_lag_s": round(max_lag, 3),
            "end_lag_mean_s": round(float(np.mean([r.done_at - r.end_sent for r in runs])), 3),
            "end_lag_max_s": round(max(r.done_at - r.end_sent for r in runs), 3),
            "notices": sum(len(r.notices) for r in runs),
            "clients_per_replica": sorted(
                [list(seen.values()).count(r) for r in set(seen.values())], reverse=True
            ),
        }
        report["runs"][f"replicas_{n}"] = result
        print(json.dumps(result), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
