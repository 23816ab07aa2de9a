"""Words per policy, load aside: the dev set streamed through a real Engine in lock step.

Each item's audio is pushed to one session in fixed chunks (100 ms), and after each push the
engine's own loop turn (``Engine._tick``: ingest, schedule, step, close) runs in this thread
until nothing is ready, as if the machine kept up with real time. A run's text therefore
depends only on the model, the options and the audio, never on the machine's load: the same
command prints the same text twice (``--repeat 2`` checks it).

    python bench/words.py run --model tiny.en --set en --config baseline --config fp32 > a.json
    python bench/words.py table a.json b.json > table.json   # deltas against "baseline"

``run`` prints per configuration and item: the streamed text, its WER, offline Whisper's WER
on the same item (``offline_ref``), and the word latency this lock step implies: the audio
time of the chunk after which a word was committed minus the word's end in offline Whisper's
word timestamps (so compute time is not in it; a real machine adds its step time). Compute is
this process's CPU seconds per audio second (side figure; with ``--threads 1`` the other
engineers' load changes it little). Configurations are named ablations (each puts one latency
change of b66ea51..2777fb1 back as it was before) or ``NAME:key=value,...`` with
DecodeOptions fields and ``precision``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dev_set import Item, load_items  # noqa: E402
from offline_ref import offline_results  # noqa: E402

from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig  # noqa: E402
from server_core.engine import Engine  # noqa: E402
from server_core.engine.core import use_all_cores  # noqa: E402
from server_core.engine.runner import Runner  # noqa: E402
from server_core.engine.segmenter import import_silero  # noqa: E402
from server_core.engine.session import Session  # noqa: E402
from server_core.events import TranscriptEvent  # noqa: E402
from server_core.wer import edit_distance, normalize  # noqa: E402

CHUNK_SECONDS = 0.1
# each one puts one latency change back as it was at b66ea51 (docs/performance.md)
ABLATIONS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "window25": {"audio_max_len": 25.0},
    "agree_all": {"agreement": True, "agreement_tail": 0},
    "frame25": {"frame_threshold": 25},
    "pad30": {"encoder_pad": 30.0, "encoder_bucket": 30.0, "encoder_tail": 0.0},
    "fp32": {"precision": "fp32"},
}
DECODE_FIELDS = {f.name: f.type for f in fields(DecodeOptions)}


@dataclass
class Config:
    name: str
    decode: dict[str, Any] = field(default_factory=dict)
    precision: str = "auto"


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_config(spec: str) -> Config:
    """``baseline``, an ablation's name, or ``NAME:key=value,key=value``."""
    name, _, rest = spec.partition(":")
    settings = dict(ABLATIONS.get(name, {})) if not rest else {}
    if not rest and name not in ABLATIONS:
        raise SystemExit(f"unknown configuration {name!r}; use {', '.join(ABLATIONS)} or NAME:k=v")
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        if key != "precision" and key not in DECODE_FIELDS:
            raise SystemExit(f"{key!r} is no DecodeOptions field")
        settings[key] = _value(value)
    precision = settings.pop("precision", "auto")
    return Config(name, settings, precision)


class Lockstep:
    """The server's Engine, its loop turned by the caller: one turn per pushed chunk."""

    def __init__(self, config: EngineConfig) -> None:
        import_silero()
        self.engine = Engine(config, progress=lambda m: None)
        self.engine._runner = Runner(self.engine._decoder(self.engine._load(config.model)))
        use_all_cores(config.threads)

    def open(self, client_id: str, listener) -> Session:
        engine = self.engine
        session = Session(
            client_id,
            listener,
            engine.config.vad,
            lambda: None,
            lambda s: None,
        )
        assert engine._runner is not None
        session.set_context(engine._runner.initial_context(session))
        engine._sessions[client_id] = session
        return session

    def settle(self) -> None:
        """Turn the loop until no step is ready (the machine kept up)."""
        for _ in range(1000):
            if not self.engine._tick():
                return
        raise RuntimeError("the engine kept stepping without new audio")

    def stream(self, client_id: str, audio: np.ndarray) -> list[tuple[float, str]]:
        """Push ``audio`` in chunks; (audio seconds pushed when it came, text) per event."""
        pushed = [0]
        arrivals: list[tuple[float, str]] = []

        def listener(ev) -> None:
            if isinstance(ev, TranscriptEvent) and ev.text:
                arrivals.append((pushed[0] / SAMPLE_RATE, ev.text))

        session = self.open(client_id, listener)
        step = int(CHUNK_SECONDS * SAMPLE_RATE)
        for at in range(0, audio.shape[0], step):
            chunk = audio[at : at + step]
            session.push(chunk)
            pushed[0] = at + chunk.shape[0]
            self.settle()
        session.end()
        for _ in range(1000):
            self.settle()
            if client_id not in self.engine._sessions:
                break
        else:
            raise RuntimeError(f"session {client_id} did not close")
        return arrivals


def latencies(arrivals: list[tuple[float, str]], offline_words: list, english: bool) -> list[float]:
    """Commit time minus offline end time of each streamed word matched to an offline word."""
    ref: list[tuple[str, float]] = []
    for word, end in offline_words:
        ref += [(w, float(end)) for w in normalize(word, english)]
    streamed = [(w, at) for at, text in arrivals for w in normalize(text, english)]
    matcher = difflib.SequenceMatcher(
        a=[w for w, _ in streamed], b=[w for w, _ in ref], autojunk=False
    )
    out = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            out.append(streamed[block.a + k][1] - ref[block.b + k][1])
    return out


def run_config(
    cfg: Config, model: str, language: str, items: list[Item], offline: dict, threads: int
) -> dict:
    english = language == "en"
    decode = replace(DecodeOptions(language=language), **cfg.decode)
    engine_cfg = EngineConfig(
        model=model,
        decode=decode,
        precision=cfg.precision,
        threads=threads,  # type: ignore[arg-type]
    )
    lock = Lockstep(engine_cfg)
    out: dict[str, Any] = {
        "decode": cfg.decode,
        "precision": lock.engine.precision,
        "items": {},
    }
    errors = words = 0
    lat_all: list[float] = []
    cpu_all = 0.0
    for item in items:
        cpu0 = time.process_time()
        arrivals = lock.stream(item.name, item.audio)
        cpu = time.process_time() - cpu0
        cpu_all += cpu
        text = "".join(t for _, t in arrivals).strip()
        ref = normalize(item.reference, english)
        err = edit_distance(ref, normalize(text, english))
        off = offline[item.name]
        lat = latencies(arrivals, off["words"], english)
        lat_all += lat
        errors += err
        words += len(ref)
        out["items"][item.name] = {
            "text": text,
            "words": len(ref),
            "errors": err,
            "wer": round(err / max(1, len(ref)), 4),
            "latency_mean_s": round(float(np.mean(lat)), 3) if lat else None,
            "compute_per_audio_s": round(cpu / item.seconds, 3),
        }
        print(f"{cfg.name} {item.name}: {err}/{len(ref)} errors", file=sys.stderr, flush=True)
    audio = sum(i.seconds for i in items)
    out.update(
        errors=errors,
        words=words,
        wer=round(errors / max(1, words), 4),
        latency_mean_s=round(float(np.mean(lat_all)), 3) if lat_all else None,
        latency_p90_s=round(float(np.percentile(lat_all, 90)), 3) if lat_all else None,
        latency_words=len(lat_all),
        compute_per_audio_s=round(cpu_all / audio, 3),
    )
    return out


def run(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)  # the offline references too
    language = args.language or ("de" if args.set == "de" else "en")
    items = load_items(args.set)
    if args.items:
        items = [i for i in items if i.name in set(args.items)]
    english = language == "en"
    offline = offline_results(args.model, language, items)
    report: dict[str, Any] = {
        "model": args.model,
        "set": args.set,
        "language": language,
        "chunk_s": CHUNK_SECONDS,
        "threads": args.threads,
        "audio_s": round(sum(i.seconds for i in items), 1),
        "offline": {},
        "configs": {},
    }
    off_err = off_words = 0
    for item in items:
        ref = normalize(item.reference, english)
        err = edit_distance(ref, normalize(offline[item.name]["text"], english))
        off_err, off_words = off_err + err, off_words + len(ref)
        report["offline"][item.name] = {"errors": err, "wer": round(err / max(1, len(ref)), 4)}
    report["offline_wer"] = round(off_err / max(1, off_words), 4)
    for spec in args.config or ["baseline"]:
        cfg = parse_config(spec)
        for k in range(args.repeat):
            name = cfg.name if k == 0 else f"{cfg.name}#{k + 1}"
            report["configs"][name] = run_config(
                cfg, args.model, language, items, offline, args.threads
            )
    if args.repeat > 1:
        report["deterministic"] = all(
            report["configs"][f"{parse_config(s).name}#{k + 1}"]["items"][i.name]["text"]
            == report["configs"][parse_config(s).name]["items"][i.name]["text"]
            for s in args.config or ["baseline"]
            for k in range(1, args.repeat)
            for i in items
        )
    return report


def table(paths: list[str], baseline: str) -> dict:
    """Merge ``run`` outputs of one model and set; each configuration against ``baseline``."""
    merged: dict[str, Any] = {}
    for p in paths:
        data = json.loads(Path(p).read_text())
        if not merged:
            merged = data
        else:
            for key in ("model", "set"):
                if merged[key] != data[key]:
                    raise SystemExit(f"{p}: {key} {data[key]!r} differs from {merged[key]!r}")
            merged["configs"].update(data["configs"])
    base = merged["configs"].get(baseline)
    if base is None:
        raise SystemExit(f"no configuration named {baseline!r} in {', '.join(paths)}")
    rows = {}
    for name, cfg in merged["configs"].items():
        deltas = {
            item: cfg["items"][item]["errors"] - base["items"][item]["errors"]
            for item in base["items"]
        }
        rows[name] = {
            "wer": cfg["wer"],
            "errors": cfg["errors"],
            "delta_errors": cfg["errors"] - base["errors"],
            "ratio_offline": round(cfg["wer"] / merged["offline_wer"], 3)
            if merged["offline_wer"]
            else None,
            "items_worse": sum(d > 0 for d in deltas.values()),
            "items_better": sum(d < 0 for d in deltas.values()),
            "per_item_delta_errors": deltas,
            "per_item_wer": {item: cfg["items"][item]["wer"] for item in base["items"]},
            "latency_mean_s": cfg["latency_mean_s"],
            "latency_p90_s": cfg["latency_p90_s"],
            "compute_per_audio_s": cfg["compute_per_audio_s"],
        }
    return {
        "model": merged["model"],
        "set": merged["set"],
        "audio_s": merged["audio_s"],
        "words": base["words"],
        "offline_wer": merged["offline_wer"],
        "offline_per_item_wer": {k: v["wer"] for k, v in merged["offline"].items()},
        "baseline": baseline,
        "configs": rows,
    }


def markdown(t: dict) -> str:
    """The table's rows as a Markdown table (one configuration a row)."""
    lines = [
        "| configuration | WER | errors | Δ errors | items worse / better | ratio to offline "
        "| mean latency | p90 | compute |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in t["configs"].items():
        lines.append(
            f"| {name} | {row['wer']:.4f} | {row['errors']} | {row['delta_errors']:+d} "
            f"| {row['items_worse']} / {row['items_better']} | {row['ratio_offline']} "
            f"| {row['latency_mean_s']} s | {row['latency_p90_s']} s "
            f"| {row['compute_per_audio_s']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="stream the dev set in lock step; print JSON")
    r.add_argument("--model", default="tiny.en")
    r.add_argument("--set", default="en", choices=("en", "de", "en-small"))
    r.add_argument("--language", help="default: de for the German set, else en")
    r.add_argument("--config", action="append", help="an ablation's name or NAME:key=value,...")
    r.add_argument("--items", nargs="*", help="only these items (by name)")
    r.add_argument("--repeat", type=int, default=1, help="run each configuration N times")
    r.add_argument("--threads", type=int, default=1, help="torch threads (1: least load noise)")
    t = sub.add_parser("table", help="merge run outputs; deltas against a baseline")
    t.add_argument("files", nargs="+")
    t.add_argument("--baseline", default="baseline")
    t.add_argument("--markdown", action="store_true", help="a Markdown table instead of JSON")
    args = p.parse_args(argv)
    report = run(args) if args.command == "run" else table(args.files, args.baseline)
    if args.command == "table" and args.markdown:
        print(markdown(report))
    else:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
