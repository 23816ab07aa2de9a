"""Capacity: the largest N of concurrent real-time streams whose lag stays bounded and whose
mean word latency is at most 2 s. Prints one JSON object.

    python bench/capacity.py --model tiny.en --language en --clip ljs_lj001_a --seconds 60
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from run_streams import load_clips, make_engine, offline_words, stream_all, word_latencies

from server_core.config import SAMPLE_RATE


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="largest N of bounded real-time streams")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--language", default="en")
    p.add_argument("--clip", default="ljs_lj001_a")
    p.add_argument("--seconds", type=float, default=60.0, help="audio per stream")
    p.add_argument("--max-streams", type=int, default=16)
    p.add_argument("--max-latency", type=float, default=2.0)
    p.add_argument("--max-lag", type=float, default=5.0, help="lag bound at the end of the run")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-batch", type=int, default=32)
    a = p.parse_args(argv)

    ((_, audio),) = load_clips([a.clip]).values()
    audio = audio[: int(a.seconds * SAMPLE_RATE)]
    engine = make_engine(a.model, a.language, a.device, a.max_batch)
    language = None if a.language == "auto" else a.language
    _, words = offline_words(engine.model, audio, language)
    runs = []
    capacity = 0
    n = 1
    while n <= a.max_streams:
        # each stream starts at another offset of the clip, so they don't decode in lockstep
        clips = {}
        for k in range(n):
            shift = int((k * 3.7 % a.seconds) * SAMPLE_RATE)
            clips[f"s{k}"] = np.roll(audio, -shift) if k else audio
        results, compute, wall = stream_all(engine, clips, 1.0)
        lat = word_latencies(results["s0"], words, 1.0)
        max_lag = max(r.max_lag for r in results.values())
        end_lag = max(r.closed_at - r.sent_at for r in results.values())
        mean_lat = float(np.mean(lat)) if lat else float("inf")
        ok = mean_lat <= a.max_latency and max_lag <= a.max_lag
        runs.append(
            {
                "streams": n,
                "latency_mean_s": round(mean_lat, 3),
                "latency_p90_s": round(float(np.percentile(lat, 90)), 3) if lat else None,
                "max_lag_s": round(max_lag, 3),
                "end_lag_s": round(end_lag, 3),
                "compute_s_per_audio_s": round(compute / (n * a.seconds), 4),
                "ok": ok,
            }
        )
        print(json.dumps(runs[-1]), file=sys.stderr)
        if not ok:
            break
        capacity = n
        n = n * 2 if n >= 4 else n + 1
    engine.stop()
    print(
        json.dumps(
            {
                "model": a.model,
                "device": engine.device,
                "clip": a.clip,
                "seconds_per_stream": a.seconds,
                "capacity": capacity,
                "runs": runs,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
