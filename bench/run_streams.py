"""Stream clips as concurrent real-time sessions of one in-process engine and measure.

Prints one JSON object: per clip the streaming WER and the offline `whisper.transcribe` WER
with the same model (default options, as the issue compares; and with word timestamps, whose
word end times give the latencies), word latency (arrival of a word minus the moment its audio
was fully sent), end lag (last text after the audio ended), the largest lag seen, and compute
seconds per second of audio. With ``--runs N`` the streaming is repeated N times (timing makes
each run a little different) and every run's WER is listed.

    python bench/run_streams.py --model tiny.en --language en jfk_inaugural ls_2412_153948_0000
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_core.audio.files import read_wav  # noqa: E402
from server_core.audio.pacing import push_in_real_time  # noqa: E402
from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig  # noqa: E402
from server_core.engine import Engine  # noqa: E402
from server_core.events import ClosedEvent, TranscriptEvent  # noqa: E402
from server_core.wer import normalize, wer  # noqa: E402


def speech_dir() -> Path:
    env = os.environ.get("WHISPER_DESKTOP_SPEECH_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "speech"


@dataclass
class StreamResult:
    client_id: str
    audio_seconds: float
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (wall seconds, text)
    t0: float = 0.0
    sent_at: float = 0.0
    closed_at: float = 0.0
    max_lag: float = 0.0

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.arrivals).strip()


def run_stream(engine: Engine, cid: str, audio: np.ndarray, speed: float, out: dict) -> None:
    res = StreamResult(cid, audio.shape[0] / SAMPLE_RATE)
    closed = threading.Event()

    def listener(ev) -> None:
        if isinstance(ev, TranscriptEvent) and ev.text:
            res.arrivals.append((time.monotonic() - res.t0, ev.text))
        elif isinstance(ev, ClosedEvent):
            res.closed_at = time.monotonic() - res.t0
            closed.set()

    session = engine.open_session(cid, listener)
    res.t0 = time.monotonic()

    def track_lag() -> None:
        res.max_lag = max(res.max_lag, session.lag)

    push_in_real_time(session, audio, speed, on_push=track_lag)
    res.sent_at = time.monotonic() - res.t0
    session.end()
    closed.wait(3600)
    out[cid] = res


def word_latencies(res: StreamResult, words: list[tuple[str, float]], speed: float) -> list[float]:
    """Match streamed words to offline words (by normalized text) and take arrival - end."""
    streamed: list[tuple[str, float]] = []
    for arrival, text in res.arrivals:
        streamed += [(w, arrival) for w in normalize(text)]
    offline = [w for w, _ in words]
    matcher = difflib.SequenceMatcher(a=[w for w, _ in streamed], b=offline, autojunk=False)
    out = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            arrival = streamed[block.a + k][1]
            audio_end = words[block.b + k][1] / speed
            out.append(arrival - audio_end)
    return out


def offline_words(model, audio: np.ndarray, language: str) -> tuple[str, list[tuple[str, float]]]:
    import whisper

    fp16 = next(model.parameters()).dtype == torch.float16
    result = whisper.transcribe(model, audio, language=language, fp16=fp16, word_timestamps=True)
    words: list[tuple[str, float]] = []
    for seg in result["segments"]:
        for w in seg.get("words", []):
            for token in normalize(w["word"], language == "en"):
                words.append((token, float(w["end"])))
    return result["text"], words


def offline_text(model, audio: np.ndarray, language: str | None) -> str:
    import whisper

    fp16 = next(model.parameters()).dtype == torch.float16
    return whisper.transcribe(model, audio, language=language, fp16=fp16)["text"]


def stream_all(engine: Engine, clips: dict[str, np.ndarray], speed: float):
    """Run every clip as its own real-time session at once; return results, compute s, wall s."""
    compute = [0.0]
    engine.on_step = lambda ids, secs: compute.__setitem__(0, compute[0] + secs)
    results: dict[str, StreamResult] = {}
    threads = [
        threading.Thread(target=run_stream, args=(engine, cid, audio, speed, results))
        for cid, audio in clips.items()
    ]
    wall0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.on_step = None
    return results, compute[0], time.monotonic() - wall0


def make_engine(
    model: str,
    language: str,
    device: str = "auto",
    max_batch: int = 8,
    frame_threshold: int = DecodeOptions.frame_threshold,
    min_chunk: float = DecodeOptions.min_chunk,
) -> Engine:
    engine = Engine(
        EngineConfig(
            model=model,
            device=device,
            max_batch=max_batch,
            lag_policy="keep",
            decode=DecodeOptions(
                language=language, frame_threshold=frame_threshold, min_chunk=min_chunk
            ),
        ),
        progress=lambda m: print(m, file=sys.stderr),
    )
    engine.start()
    return engine


def load_clips(names: list[str]) -> dict[str, tuple[Path, np.ndarray]]:
    paths = [Path(c) if c.endswith(".wav") else speech_dir() / f"{c}.wav" for c in names]
    clips: dict[str, tuple[Path, np.ndarray]] = {}
    for path in paths:
        cid, n = path.stem, 2
        while cid in clips:
            cid, n = f"{path.stem}-{n}", n + 1
        clips[cid] = (path, read_wav(path))
    return clips


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clips", nargs="+", help="clip stems in the speech dir, or WAV paths")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--language", default="en")
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--frame-threshold", type=int, default=DecodeOptions.frame_threshold)
    p.add_argument("--min-chunk", type=float, default=DecodeOptions.min_chunk)
    p.add_argument("--device", default="auto")
    p.add_argument("--max-batch", type=int, default=8)
    p.add_argument("--runs", type=int, default=1, help="stream every clip this many times")
    a = p.parse_args(argv)

    clips = load_clips(a.clips)
    engine = make_engine(a.model, a.language, a.device, a.max_batch, a.frame_threshold, a.min_chunk)
    english = a.language == "en"
    language = None if a.language == "auto" else a.language
    offline = {
        cid: offline_words(engine.model, audio, language) for cid, (_, audio) in clips.items()
    }
    plain = {cid: offline_text(engine.model, audio, language) for cid, (_, audio) in clips.items()}
    audios = {cid: audio for cid, (_, audio) in clips.items()}
    runs = [stream_all(engine, audios, a.speed) for _ in range(max(1, a.runs))]
    engine.stop()
    per_run = [results for results, _, _ in runs]
    results = per_run[0]
    compute = sum(c for _, c, _ in runs) / len(runs)
    wall = sum(w for _, _, w in runs) / len(runs)

    report: dict = {
        "model": a.model,
        "language": a.language,
        "speed": a.speed,
        "device": engine.device,
        "streams": len(clips),
        "frame_threshold": a.frame_threshold,
        "min_chunk": a.min_chunk,
        "clips": {},
    }
    all_lat: list[float] = []
    for cid, (path, _audio) in clips.items():
        res = results[cid]
        ref_path = path.with_suffix(".txt")
        ref = ref_path.read_text(encoding="utf-8") if ref_path.exists() else offline[cid][0]
        lat = [x for r in per_run for x in word_latencies(r[cid], offline[cid][1], a.speed)]
        all_lat += lat
        report["clips"][cid] = {
            "audio_s": round(res.audio_seconds, 2),
            "wer_stream": round(wer(ref, res.text, english), 4),
            "wer_offline": round(wer(ref, plain[cid], english), 4),
            "wer_offline_word_timestamps": round(wer(ref, offline[cid][0], english), 4),
            "latency_mean_s": round(float(np.mean(lat)), 3) if lat else None,
            "latency_p90_s": round(float(np.percentile(lat, 90)), 3) if lat else None,
            "end_lag_s": round(res.closed_at - res.sent_at, 3),
            "max_lag_s": round(res.max_lag, 3),
        }
        if len(runs) > 1:
            report["clips"][cid]["wer_stream_runs"] = [
                round(wer(ref, r[cid].text, english), 4) for r in per_run
            ]
    audio_total = sum(r.audio_seconds for r in results.values())
    report["latency_mean_s"] = round(float(np.mean(all_lat)), 3) if all_lat else None
    report["latency_p90_s"] = round(float(np.percentile(all_lat, 90)), 3) if all_lat else None
    report["compute_s_per_audio_s"] = round(compute / audio_total, 4)
    report["wall_s"] = round(wall, 2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
