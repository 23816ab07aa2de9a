"""Greedy against beam search under AlignAtt, on dev speech, one real-time client at a time.

For each model, every item is streamed once per beam width, the widths taking turns item by
item (so a machine whose load drifts affects them alike). Prints one JSON object: per model and
width the streaming WER, the offline ``whisper.transcribe`` WER (the same for every width),
word latency (a word's arrival minus the moment its audio was sent; word ends from offline
word timestamps), the end lag (last text after the audio ended), and compute seconds per
second of audio with its ratio to greedy's.

    python bench/beams.py --models tiny.en base --beams 1 2 4 --items en_short0 ljs_lj001_a@0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dev_set import Item, load_items  # noqa: E402
from offline_ref import offline_results  # noqa: E402
from run_streams import StreamResult, make_engine, word_latencies  # noqa: E402

from server_core.audio.pacing import push_in_real_time  # noqa: E402
from server_core.config import SAMPLE_RATE, SessionOptions  # noqa: E402
from server_core.engine import Engine  # noqa: E402
from server_core.events import ClosedEvent, TranscriptEvent  # noqa: E402
from server_core.wer import edit_distance, normalize  # noqa: E402


def stream(engine: Engine, cid: str, audio: np.ndarray, beams: int) -> tuple[StreamResult, float]:
    """One real-time session with its own beam width; its result and the engine's compute s."""
    res = StreamResult(cid, audio.shape[0] / SAMPLE_RATE)
    closed = threading.Event()
    compute = [0.0]
    engine.on_step = lambda ids, secs: compute.__setitem__(0, compute[0] + secs)

    def listener(ev) -> None:
        if isinstance(ev, TranscriptEvent) and ev.text:
            res.arrivals.append((time.monotonic() - res.t0, ev.text))
        elif isinstance(ev, ClosedEvent):
            res.closed_at = time.monotonic() - res.t0
            closed.set()

    session = engine.open_session(cid, listener, options=SessionOptions(beams=beams))
    res.t0 = time.monotonic()

    def track_lag() -> None:
        res.max_lag = max(res.max_lag, session.lag)

    push_in_real_time(session, audio, 1.0, on_push=track_lag)
    res.sent_at = time.monotonic() - res.t0
    session.end()
    closed.wait(3600)
    engine.on_step = None
    return res, compute[0]


def summary(runs: list[tuple[Item, StreamResult, float]], offline: dict) -> dict:
    errors = offline_errors = words = 0
    lat: list[float] = []
    for item, res, _ in runs:
        ref = normalize(item.reference)
        off = offline[item.name]
        errors += edit_distance(ref, normalize(res.text))
        offline_errors += edit_distance(ref, normalize(off["text"]))
        words += len(ref)
        ends: list[tuple[str, float]] = []
        for word, end in off["words"]:
            ends += [(w, end) for w in normalize(word)]
        lat += word_latencies(res, ends, 1.0)
    audio = sum(item.seconds for item, _, _ in runs)
    return {
        "audio_s": round(audio, 1),
        "words": words,
        "wer_stream": round(errors / words, 4),
        "wer_offline": round(offline_errors / words, 4),
        "latency_mean_s": round(float(np.mean(lat)), 3) if lat else None,
        "latency_p90_s": round(float(np.percentile(lat, 90)), 3) if lat else None,
        "end_lag_mean_s": round(float(np.mean([r.closed_at - r.sent_at for _, r, _ in runs])), 3),
        "max_lag_s": round(max(r.max_lag for _, r, _ in runs), 3),
        "compute_s_per_audio_s": round(sum(c for _, _, c in runs) / audio, 4),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    p.add_argument("--beams", nargs="+", type=int, default=[1, 2, 4])
    p.add_argument("--items", nargs="+", default=["en_short0", "ljs_lj001_a@0"])
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)

    by_name = {item.name: item for item in load_items("en")}
    missing = [n for n in a.items if n not in by_name]
    if missing:
        raise SystemExit(f"unknown items {missing}; known: {', '.join(by_name)}")
    items = [by_name[n] for n in a.items]
    out: dict = {
        "command": "python bench/beams.py " + " ".join(argv or sys.argv[1:]),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_avg_at_start": os.getloadavg(),
        },
        "results": [],
    }
    for model in a.models:
        offline = offline_results(model, "en", items)
        engine = make_engine(model, "en", a.device)
        runs: dict[int, list] = {b: [] for b in a.beams}
        for k, item in enumerate(items):
            order = a.beams[k % len(a.beams) :] + a.beams[: k % len(a.beams)]
            for beams in order:
                res, compute = stream(engine, f"{item.name}-b{beams}", item.audio, beams)
                runs[beams].append((item, res, compute))
                print(
                    f"{model} beams={beams} {item.name}: {compute:.1f} s compute", file=sys.stderr
                )
        engine.stop()
        greedy = summary(runs[a.beams[0]], offline)["compute_s_per_audio_s"]
        for beams in a.beams:
            row = {"model": model, "beams": beams} | summary(runs[beams], offline)
            row["compute_vs_first"] = round(row["compute_s_per_audio_s"] / greedy, 2)
            row["texts"] = {item.name: res.text for item, res, _ in runs[beams]}
            out["results"].append(row)
    out["machine"]["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
