"""Captions' lateness and cost, with real-time clients over the WebSocket protocol, comparing
source trees in one run. Prints one JSON object.

    python bench/latency.py --model tiny.en --clients 1 2 4 --rev before=b66ea51 --rev after=.
    python bench/latency.py --model base --language de --set de --clients 1 \
        --rev on=. --rev off=. --rev-arg off=--no-final-pass

Each ``--rev NAME=REV`` is a git revision (checked out once into a worktree under
/tmp/whisper-bench) or a path to a source tree; every revision runs the same items with the
same clients, one server process at a time (``bench/instrumented_server.py``). The items are the
dev speech (``bench/dev_set.py``: 12.5 min of English, or the German clips), dealt to N clients
that each stream their items one after another, one connection per item, in 100 ms ``.npy``
frames at real time.

Per revision and client count: streaming WER pooled over the items and the offline WER of the
same model (``whisper.transcribe``, default options), the WER of the final pass (the
``utterance`` messages' texts; None where a server sends none) and how long after its line's
final transcript each came, the three WERs also per item, words missing (words of the offline
text that the streamed text lacks, not counting other spacing of the same letters), word latency
(arrival of a word minus the moment the frame holding its end was sent; word ends from an
offline word-timestamp run), the largest lag the server reported, the end lag (last text after
the last frame), and compute per second of audio split into mel, encoder, decoder prefill,
decoder token steps, VAD and the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import jiwer
import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from dev_set import Item, load_items, share  # noqa: E402
from offline_ref import offline_results  # noqa: E402

from server_core.config import SAMPLE_RATE  # noqa: E402
from server_core.wer import edit_distance, normalize  # noqa: E402

FRAME = int(0.1 * SAMPLE_RATE)
FLOODER = "flooder"
TREES = Path(tempfile.gettempdir()) / "whisper-bench"
LISTEN_RE = re.compile(r"Listening on ws://([\d.]+):(\d+)")
PARTS = ("mel", "encoder", "decoder_prefill", "decoder_tokens", "vad", "other")


@dataclass
class ItemRun:
    item: Item
    frame_sent: list[float] = field(default_factory=list)  # monotonic time each frame was sent
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    end_sent: float = 0.0
    done_at: float = 0.0
    notices: list[dict] = field(default_factory=list)
    final_ends: dict[float, float] = field(default_factory=dict)  # final transcript end -> time
    utterances: list[tuple[float, float, str]] = field(default_factory=list)  # (time, end, text)

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.arrivals).strip()

    @property
    def final_text(self) -> str | None:
        """The final pass's text (its utterance messages); None if the server sent none."""
        if not self.utterances:
            return None
        return " ".join(t.strip() for _, _, t in self.utterances if t.strip())

    def final_lags(self) -> list[float]:
        """How long each utterance message came after its line's final transcript."""
        return [
            at - self.final_ends[end] for at, end, _ in self.utterances if end in self.final_ends
        ]


def tree_of(rev: str) -> Path:
    path = Path(rev)
    if path.is_dir():
        return path.resolve()
    sha = subprocess.check_output(["git", "rev-parse", rev], cwd=ROOT, text=True).strip()
    target = TREES / sha[:12]
    if not target.is_dir():
        TREES.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(target), sha],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return target


def npy(chunk: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, chunk.astype(np.float32), allow_pickle=False)
    return buf.getvalue()


async def stream_item(url: str, client_id: str, item: Item) -> ItemRun:
    from websockets.asyncio.client import connect

    run = ItemRun(item)
    async with connect(f"{url}?client_id={client_id}", max_size=None) as ws:
        first = json.loads(await ws.recv())
        if first.get("type") != "ready":
            raise RuntimeError(f"{client_id}: {first}")

        async def send() -> None:
            t0 = time.monotonic()
            audio = item.audio
            for k, i in enumerate(range(0, audio.shape[0], FRAME)):
                delay = t0 + k * FRAME / SAMPLE_RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(npy(audio[i : i + FRAME]))
                run.frame_sent.append(time.monotonic())
            delay = t0 + audio.shape[0] / SAMPLE_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(json.dumps({"type": "end"}))
            run.end_sent = time.monotonic()

        sender = asyncio.create_task(send())
        async for raw in ws:
            msg = json.loads(raw)
            kind = msg.get("type")
            if kind == "transcript" and msg.get("text"):
                run.arrivals.append((time.monotonic(), msg["text"]))
            if kind == "transcript" and msg.get("final"):
                run.final_ends[msg["end"]] = time.monotonic()
            elif kind == "utterance":
                run.utterances.append((time.monotonic(), msg["end"], msg.get("text", "")))
            elif kind == "notice":
                run.notices.append(msg)
            elif kind == "done":
                run.done_at = time.monotonic()
                break
        await sender
    return run


async def client(url: str, name: str, queue: list[Item]) -> list[ItemRun]:
    return [await stream_item(url, f"{name}-{k}", item) for k, item in enumerate(queue)]


async def poll_lag(http: str, stop: asyncio.Event, seen: list[float]) -> None:
    loop = asyncio.get_running_loop()

    def get() -> list[float]:
        with urllib.request.urlopen(f"{http}/clients", timeout=5) as r:
            clients = json.load(r)["clients"]
            return [float(c["lag"]) for c in clients if c["client_id"] != FLOODER]

    while not stop.is_set():
        try:
            seen.extend(await loop.run_in_executor(None, get))
        except Exception:
            pass
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


async def flood(url: str, audio: np.ndarray, stop: asyncio.Event, sent: list[float]) -> None:
    """One more client that sends ``audio`` in 10 s frames as fast as the server reads them,
    until ``stop``; its text is not scored. ``sent`` gets the seconds it got through."""
    from websockets.asyncio.client import connect

    frame = 10 * SAMPLE_RATE
    # ping_timeout: held back by the server, our pings wait behind the unread audio
    async with connect(f"{url}?client_id={FLOODER}", max_size=None, ping_timeout=None) as ws:

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        total = 0
        for i in range(0, audio.shape[0], frame):
            send = asyncio.ensure_future(ws.send(npy(audio[i : i + frame])))
            waiter = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({send, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if send not in done:
                send.cancel()
                break
            if send.exception() is not None:  # the connection is gone
                break
            total += min(frame, audio.shape[0] - i)
        sent.append(total / SAMPLE_RATE)
        await stop.wait()
        reader.cancel()


async def run_clients(
    url: str, http: str, queues: list[list[Item]], flood_audio: np.ndarray | None = None
) -> tuple[list[ItemRun], float, float]:
    stop = asyncio.Event()
    lags: list[float] = []
    flooded: list[float] = []
    poller = asyncio.create_task(poll_lag(http, stop, lags))
    flooder = None
    if flood_audio is not None:
        flooder = asyncio.create_task(flood(url, flood_audio, stop, flooded))
        await asyncio.sleep(2.0)  # the flood is under way before the real-time clients start
    results = await asyncio.gather(*(client(url, f"c{k}", q) for k, q in enumerate(queues)))
    stop.set()
    await poller
    if flooder is not None:
        await flooder
    runs = [r for runs in results for r in runs]
    return runs, max(lags, default=0.0), sum(flooded)


def start_server(tree: Path, stats: Path, model: str, language: str, device: str, extra: list[str]):
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONPATH": str(tree),
    }
    cmd = [
        sys.executable,
        str(BENCH / "instrumented_server.py"),
        str(tree),
        str(stats),
        "--",
        "--model",
        model,
        "--language",
        language,
        "--device",
        device,
        "--port",
        "0",
        "--max-clients",
        "64",
        "--log-level",
        "WARNING",
        *extra,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("server exited:\n" + "".join(lines))
        lines.append(line)
        m = LISTEN_RE.search(line)
        if m:  # keep the pipe drained so the server never blocks on its output
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return (
                proc,
                f"ws://{m.group(1)}:{m.group(2)}/ws/transcription",
                f"http://{m.group(1)}:{m.group(2)}",
            )
    raise RuntimeError("server did not start:\n" + "".join(lines))


def words_with_times(run: ItemRun, english: bool) -> list[tuple[str, float]]:
    out = []
    for arrival, text in run.arrivals:
        out += [(w, arrival) for w in normalize(text, english)]
    return out


def latencies(run: ItemRun, offline_words: list[list], english: bool) -> list[float]:
    ref: list[tuple[str, float]] = []
    for word, end in offline_words:
        ref += [(w, end) for w in normalize(word, english)]
    streamed = words_with_times(run, english)
    matcher = difflib.SequenceMatcher(
        a=[w for w, _ in streamed], b=[w for w, _ in ref], autojunk=False
    )
    out = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            arrival = streamed[block.a + k][1]
            frame = min(len(run.frame_sent) - 1, int(ref[block.b + k][1] * SAMPLE_RATE) // FRAME)
            out.append(arrival - run.frame_sent[max(0, frame)])
    return out


def _is_word(token: str) -> bool:
    return any(c.isalnum() for c in token)


def _same_letters(a: list[str], b: list[str]) -> bool:
    """The same words spaced otherwise: "may be" and "maybe", "lower case" and "lowercase"."""
    return "".join(a) == "".join(b)


def deletions(ref: list[str], hyp: list[str]) -> int:
    """Words of ``ref`` that ``hyp`` lacks: deleted, not replaced by another word.

    Spelling the same letters with other spaces loses nothing, and a token without a letter
    or digit (the "." the English normalizer keeps of "...") is not a word."""
    return len(_deleted(ref, hyp) & {i for i, w in enumerate(ref) if _is_word(w)})


@dataclass
class _Run:
    """A run of equal words, or of edits between two such runs, of a minimal-edit alignment."""

    same: bool
    ref: range
    hyp: range
    deleted: list[int] = field(default_factory=list)  # ref words the alignment deletes


def _runs(ref: list[str], hyp: list[str]) -> list[_Run]:
    """jiwer's Levenshtein alignment in runs. A run of edits spelling the same letters with
    other spaces ("may be" / "maybe") counts as the same words. (difflib's longest-block
    matching misaligned whole stretches of the meeting recording, where short words repeat.)"""
    if not ref or not hyp:
        return [_Run(False, range(len(ref)), range(len(hyp)), list(range(len(ref))))]
    runs: list[_Run] = []
    for chunk in jiwer.process_words(" ".join(ref), " ".join(hyp)).alignments[0]:
        r = range(chunk.ref_start_idx, chunk.ref_end_idx)
        h = range(chunk.hyp_start_idx, chunk.hyp_end_idx)
        if chunk.type == "equal":
            runs.append(_Run(True, r, h))
            continue
        if not runs or runs[-1].same:
            runs.append(_Run(False, r, h))
        else:
            last = runs[-1]
            last.ref, last.hyp = range(last.ref.start, r.stop), range(last.hyp.start, h.stop)
        if chunk.type == "delete":
            runs[-1].deleted += list(r)
    for run in runs:
        if not run.same and _same_letters(
            ref[run.ref.start : run.ref.stop], hyp[run.hyp.start : run.hyp.stop]
        ):
            run.same, run.deleted = True, []
    return runs


def _deleted(ref: list[str], hyp: list[str]) -> set[int]:
    """Indices of the ``ref`` words that ``hyp`` deletes (not replaces)."""
    return {i for run in _runs(ref, hyp) for i in run.deleted}


def _heard(ref: list[str], hyp: list[str]) -> set[int]:
    """Indices of the ``ref`` words that ``hyp`` has."""
    return {i for run in _runs(ref, hyp) if run.same for i in run.ref}


def lost_words(ref: list[str], offline: list[str], stream: list[str]) -> tuple[int, int]:
    """(words said and heard offline, how many of them the stream deleted).

    A word is lost when the speaker said it (it is in the reference), offline Whisper heard
    it, and the stream lacks it. Scoring against offline's text alone would count what
    offline Whisper invents, such as a sentence after the speech has ended, as words the
    stream lost."""
    heard = {i for i in _heard(ref, offline) if _is_word(ref[i])}
    return len(heard), len(heard & _deleted(ref, stream))


def _rate(errors: int, words: int) -> float | None:
    return round(errors / words, 4) if words else None


def summarize(runs: list[ItemRun], offline: dict, stats: dict, max_lag: float, english: bool):
    errors = offline_errors = ref_words = offline_words = 0
    final_errors = final_ref_words = 0
    missing = missing_vs_offline = heard_words = 0
    lat: list[float] = []
    final_lags: list[float] = []
    per_item = []
    for run in runs:
        off = offline[run.item.name]
        ref = normalize(run.item.reference, english)
        hyp = normalize(run.text, english)
        off_words = normalize(off["text"], english)
        item_errors = edit_distance(ref, hyp)
        item_offline = edit_distance(ref, off_words)
        errors += item_errors
        offline_errors += item_offline
        ref_words += len(ref)
        item_final = None
        if run.final_text is not None:
            item_final = edit_distance(ref, normalize(run.final_text, english))
            final_errors += item_final
            final_ref_words += len(ref)
            final_lags += run.final_lags()
        per_item.append(
            {
                "item": run.item.name,
                "words": len(ref),
                "wer_stream": _rate(item_errors, len(ref)),
                "wer_final": None if item_final is None else _rate(item_final, len(ref)),
                "wer_offline": _rate(item_offline, len(ref)),
            }
        )
        missing_vs_offline += deletions(off_words, hyp)
        offline_words += len(off_words)
        heard, lost = lost_words(ref, off_words, hyp)
        heard_words += heard
        missing += lost
        lat += latencies(run, off["words"], english)
    audio = sum(r.item.seconds for r in runs)
    compute = {p: round(stats.get(p, 0.0) / audio, 4) for p in PARTS}
    return {
        "items": len(runs),
        "audio_s": round(audio, 1),
        "words": ref_words,
        "wer_stream": round(errors / ref_words, 4),
        "wer_offline": round(offline_errors / ref_words, 4),
        # the final pass, over the items whose server sent utterance messages (all or none)
        "wer_final": _rate(final_errors, final_ref_words),
        "final_items": sum(1 for r in runs if r.final_text is not None),
        "final_lag_mean_s": round(float(np.mean(final_lags)), 3) if final_lags else None,
        # said, heard by offline Whisper, lost by the stream (lost_words)
        "words_missing": round(missing / max(1, heard_words), 4),
        # offline's words the stream lacks, offline's inventions included (the earlier metric)
        "words_missing_vs_offline": round(missing_vs_offline / max(1, offline_words), 4),
        "latency_mean_s": round(float(np.mean(lat)), 3) if lat else None,
        "latency_p90_s": round(float(np.percentile(lat, 90)), 3) if lat else None,
        "end_lag_mean_s": round(float(np.mean([r.done_at - r.end_sent for r in runs])), 3),
        "max_lag_s": round(max_lag, 3),
        "notices": sum(len(r.notices) for r in runs),
        "compute_s_per_audio_s": round(stats.get("tick", 0.0) / audio, 4),
        "compute_breakdown": compute,
        "per_item": per_item,
    }


def dump_texts(folder: Path, runs: list[ItemRun], offline: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        (folder / f"{run.item.name}.json").write_text(
            json.dumps(
                {
                    "stream": run.text,
                    "final": run.final_text,
                    "offline": offline[run.item.name]["text"],
                    "reference": run.item.reference,
                    "notices": run.notices,
                },
                indent=1,
            )
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--language", default="en", help="the model's language (en, de, ...)")
    p.add_argument("--set", default=None, help="speech set: en (default for en), de, en-small")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--rev", action="append", default=[], help="NAME=REV (git rev or tree path)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-item", type=float, default=60.0, help="seconds per item")
    p.add_argument("--max-audio", type=float, default=0.0, help="use only this much audio")
    p.add_argument("--server-arg", action="append", default=[], help="extra server flag")
    p.add_argument(
        "--rev-arg",
        action="append",
        default=[],
        metavar="NAME=FLAG",
        help="an extra server flag for one revision only, e.g. off=--no-final-pass",
    )
    p.add_argument("--dump", help="write each item's streamed, offline and reference text here")
    p.add_argument(
        "--flood",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="one more client uploads this much audio as fast as it can meanwhile (unscored)",
    )
    p.add_argument(
        "--each",
        action="store_true",
        help="every client streams one item (client k item k mod items) instead of sharing them",
    )
    a = p.parse_args(argv)
    revs = [r.split("=", 1) if "=" in r else [r, r] for r in (a.rev or ["current=."])]
    rev_args: dict[str, list[str]] = {}
    for pair in a.rev_arg:
        name, _, flag = pair.partition("=")
        rev_args.setdefault(name, []).append(flag)
    items = load_items(a.set or ("de" if a.language == "de" else "en"), a.max_item)
    if a.max_audio:
        kept, total = [], 0.0
        for item in items:
            if total >= a.max_audio:
                break
            kept.append(item)
            total += item.seconds
        items = kept
    offline = offline_results(a.model, a.language, items)
    flood_audio = None
    if a.flood:
        speech = np.concatenate([item.audio for item in items])
        flood_audio = np.tile(speech, int(np.ceil(a.flood * SAMPLE_RATE / speech.shape[0])))
        flood_audio = flood_audio[: int(a.flood * SAMPLE_RATE)]
    english = a.language == "en"
    report: dict = {"model": a.model, "language": a.language, "device": a.device, "runs": {}}
    for name, rev in revs:
        tree = tree_of(rev)
        extra = a.server_arg + rev_args.get(name, [])
        report["runs"][name] = {"tree": str(tree), "rev": rev, "server_args": extra}
        for n in a.clients:
            stats_file = Path(tempfile.mkstemp(suffix=".json")[1])
            proc, url, http = start_server(tree, stats_file, a.model, a.language, a.device, extra)
            try:
                queues = [[items[k % len(items)]] for k in range(n)] if a.each else share(items, n)
                runs, max_lag, flooded = asyncio.run(run_clients(url, http, queues, flood_audio))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(120)
            stats = json.loads(stats_file.read_text())
            if a.dump:
                dump_texts(Path(a.dump) / f"{name}-{n}", runs, offline)
            result = summarize(runs, offline, stats, max_lag, english)
            if a.flood:
                result["flood_seconds_accepted"] = round(flooded, 1)
            report["runs"][name][f"clients_{n}"] = result
            brief = {k: v for k, v in result.items() if k != "per_item"}
            print(json.dumps({"rev": name, "clients": n, **brief}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
