"""`whisper-desktop simulate FILE...`: stream WAV files as concurrent sessions of one engine.

Each file is fed in 100 ms chunks at real time x ``--speed``; events are printed as they come.
The summary's text is the final pass's (``utterance`` events) with ``--final-pass``;
``live_text`` is what the transcript events said.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from server_core.audio.files import AudioFileError, read_wav
from server_core.audio.pacing import push_in_real_time
from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig
from server_core.engine import Engine
from server_core.errors import ComputeDeviceError, ModelError
from server_core.events import (
    ClosedEvent,
    NoticeEvent,
    SessionEvent,
    TranscriptEvent,
    UtteranceEvent,
)

log = logging.getLogger(__name__)


@dataclass
class Stream:
    client_id: str
    audio: np.ndarray
    pieces: list[str] = field(default_factory=list)  # the transcript events' text
    finals: list[str] = field(default_factory=list)  # the utterance events' text


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="whisper-desktop simulate",
        description="Transcribe WAV files as concurrent real-time streams of one engine.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="WAV files (16 kHz mono preferred)")
    p.add_argument("--model", default="base", help="model name, .pt or CTranslate2 folder")
    p.add_argument("--language", default="de", help="language code or 'auto' (default de)")
    p.add_argument("--speed", type=float, default=1.0, help="feed rate x real time (0 = no wait)")
    p.add_argument("--chunk", type=float, default=0.1, help="seconds per pushed chunk")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.add_argument("--task", choices=["transcribe", "translate"], default="transcribe")
    p.add_argument("--frame-threshold", type=int, default=DecodeOptions.frame_threshold)
    p.add_argument("--min-chunk", type=float, default=DecodeOptions.min_chunk)
    p.add_argument("--audio-max-len", type=float, default=DecodeOptions.audio_max_len)
    p.add_argument("--init-prompt", default="", help="initial context text (trimmed like any)")
    p.add_argument("--static-prompt", default="", help="never-trimmed prompt (domain words)")
    p.add_argument("--max-context-tokens", type=int, default=DecodeOptions.max_context_tokens)
    p.add_argument("--beams", type=int, default=1, help="1 = greedy; 2..8: beam search")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--final-pass",
        dest="final_pass",
        action="store_true",
        help="a second, offline-style pass over each finished utterance (the summary's text)",
    )
    p.add_argument(
        "--no-final-pass",
        dest="final_pass",
        action="store_false",
        help="no final pass (the default)",
    )
    p.add_argument("--verbose", "-v", action="store_true")
    return p.parse_args(argv)


def load_streams(files: list[str]) -> list[Stream]:
    streams: list[Stream] = []
    seen: set[str] = set()
    for f in files:
        audio = read_wav(f)
        stem = Path(f).stem
        cid, n = stem, 2
        while cid in seen:
            cid, n = f"{stem}-{n}", n + 1
        seen.add(cid)
        streams.append(Stream(cid, audio))
    return streams


def feed(session, stream: Stream, chunk_seconds: float, speed: float) -> None:
    push_in_real_time(session, stream.audio, speed, chunk_seconds)
    session.end()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        streams = load_streams(args.files)
    except AudioFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    decode = DecodeOptions(
        language=args.language,
        task=args.task,
        frame_threshold=args.frame_threshold,
        min_chunk=args.min_chunk,
        audio_max_len=args.audio_max_len,
        init_prompt=args.init_prompt,
        static_prompt=args.static_prompt,
        max_context_tokens=args.max_context_tokens,
        beams=args.beams,
    )
    config = EngineConfig(
        model=args.model,
        device=args.device,
        decode=decode,
        lag_policy="keep",
        final_pass=args.final_pass,
    )
    try:
        decode.validate()
        engine = Engine(config, progress=lambda m: print(m, file=sys.stderr))
        engine.start()
    except (ModelError, ComputeDeviceError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    events: queue.Queue[tuple[Stream, SessionEvent]] = queue.Queue()
    by_id = {s.client_id: s for s in streams}
    sessions = {}
    for s in streams:
        sessions[s.client_id] = engine.open_session(
            s.client_id, lambda ev, s=s: events.put((s, ev))
        )
    feeders = [
        threading.Thread(
            target=feed, args=(sessions[s.client_id], s, args.chunk, args.speed), daemon=True
        )
        for s in streams
    ]
    started = time.monotonic()
    for t in feeders:
        t.start()
    open_ids = set(by_id)
    while open_ids:
        try:
            stream, ev = events.get(timeout=1.0)
        except queue.Empty:
            if not engine.is_running:
                break
            continue
        if isinstance(ev, ClosedEvent):
            open_ids.discard(stream.client_id)
        elif isinstance(ev, TranscriptEvent):
            stream.pieces.append(ev.text)
            print_event(ev, args.json)
        elif isinstance(ev, UtteranceEvent):
            if ev.text:
                stream.finals.append(ev.text)
            print_utterance(ev, args.json)
        elif isinstance(ev, NoticeEvent):
            print(json.dumps(ev.to_wire()) if args.json else f"[{ev.client_id}] ! {ev.message}")
        sys.stdout.flush()
    engine.stop()
    wall = time.monotonic() - started
    for s in streams:
        live = "".join(s.pieces).strip()
        text = " ".join(t.strip() for t in s.finals) if args.final_pass else live
        if args.json:
            summary = {"type": "summary", "client_id": s.client_id, "text": text}
            print(json.dumps({**summary, "live_text": live}))
        else:
            print(f"== {s.client_id}: {text}")
    audio_seconds = sum(s.audio.shape[0] for s in streams) / SAMPLE_RATE
    print(
        f"{len(streams)} stream(s), {audio_seconds:.1f} s of audio in {wall:.1f} s wall",
        file=sys.stderr,
    )
    return 0 if not open_ids else 1


def print_event(ev: TranscriptEvent, as_json: bool) -> None:
    if as_json:
        wire = ev.to_wire()
        print(
            json.dumps(
                {
                    k: wire[k]
                    for k in ("type", "client_id", "text", "start", "end", "final", "timestamp")
                }
            )
        )
    else:
        mark = " ." if ev.final else ""
        print(f"[{ev.client_id} {ev.start:6.2f}-{ev.end:6.2f}]{ev.text}{mark}")


def print_utterance(ev: UtteranceEvent, as_json: bool) -> None:
    if as_json:
        print(json.dumps(ev.to_wire()))
    else:
        print(f"[{ev.client_id} {ev.start:6.2f}-{ev.end:6.2f}] = {ev.text}")


if __name__ == "__main__":
    sys.exit(main())
