"""Issue 13's repetition loop, reproduced: two sources at once on a busy CPU, the system audio a
noisy meeting followed by clean speech (tiny.en, real time), its capture stalling once so that
the lag policy skips.

A loop once repeated "And so, you know, you're going to be able to do it." for 70 s, through
35 s of clean LJ Speech that never appeared, into one 1,291-character utterance. Here no
sentence may come more than twice in a row, no utterance may grow past the cap, and the clean
speech after the meeting must be transcribed.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from server_core.audio.files import read_wav
from server_core.audio.pacing import push_in_real_time
from server_core.config import SAMPLE_RATE, DecodeOptions, EngineConfig
from server_core.engine import Engine
from server_core.events import TranscriptEvent
from server_core.wer import normalize
from tests.support.repeats import longest_run, sentences
from tests.support.streaming import Collected, in_threads

pytestmark = [pytest.mark.model, pytest.mark.timeout(300)]

MEETING_S = 40.0  # of ami_mix60: four people talking over each other
CLEAN_S = 35.0  # of ljs_lj001_a, right after it
MAX_LAG_S = 5.0  # low, and the system capture stalls for longer: the skip policy must act
STALL_AT_S, STALL_S = 20.0, 8.0  # in the meeting: the capture hangs, then delivers it at once
CAP = DecodeOptions(language="en", max_utterance_chars=250)  # LJ Speech reads on for 500
# the cap is checked after each step; one step commits at most a few seconds of speech more
CAP_SLACK_CHARS = 100


def utterances(events: list[TranscriptEvent]) -> list[str]:
    out, current = [], ""
    for e in events:
        current += e.text
        if e.final:
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def clean_reference(speech_dir: Path) -> str:
    with open(speech_dir / "ljs_lj001_a.segments.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return " ".join(r["text"] for r in rows if float(r["end_s"]) <= CLEAN_S)


def push_with_a_stall(session, audio: np.ndarray) -> None:
    """Real time, except that the capture hangs for ``STALL_S`` and then catches up at once."""
    a, b = int(STALL_AT_S * SAMPLE_RATE), int((STALL_AT_S + STALL_S) * SAMPLE_RATE)
    push_in_real_time(session, audio[:a])
    time.sleep(STALL_S)
    session.push(audio[a:b])
    push_in_real_time(session, audio[b:])


def run_sources(engine: Engine, feeds: dict[str, tuple[np.ndarray, Callable]]) -> dict:
    """Every source in its own thread, as the desktop's captures are; each ended at the end."""
    got = {cid: Collected() for cid in feeds}

    def run(cid: str) -> None:
        audio, push = feeds[cid]
        session = engine.open_session(cid, got[cid])
        push(session, audio)
        session.end()
        assert got[cid].closed.wait(120), f"{cid} was not flushed"

    in_threads(run, [(cid,) for cid in feeds])
    return got


@pytest.fixture
def busy_cpu():
    """A process spinning on one of the machine's cores for the whole test."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield proc
    proc.kill()
    proc.wait()


def test_no_loop_with_two_sources_on_a_busy_cpu(speech_dir, busy_cpu) -> None:
    meeting = read_wav(speech_dir / "ami_mix60.wav")[: int(MEETING_S * SAMPLE_RATE)]
    clean = read_wav(speech_dir / "ljs_lj001_a.wav")[: int(CLEAN_S * SAMPLE_RATE)]
    system = np.concatenate([meeting, np.zeros(SAMPLE_RATE // 2, np.float32), clean])
    mic_clips = ["jfk_inaugural", "fleurs_en_000", "ls_2412_153948_0000", "fleurs_en_002"]
    mic = np.concatenate([read_wav(speech_dir / f"{n}.wav") for n in mic_clips] * 2)
    mic = mic[: system.shape[0]]

    engine = Engine(EngineConfig(model="tiny.en", decode=CAP, lag_policy="skip", max_lag=MAX_LAG_S))
    engine.start()
    try:
        got = run_sources(
            engine, {"system": (system, push_with_a_stall), "user": (mic, push_in_real_time)}
        )
    finally:
        engine.stop()

    for cid, collected in got.items():
        said = utterances(collected.transcripts)
        runs, sentence = longest_run(sentences(said))
        skipped = sum(n.skipped_seconds for n in collected.notices)
        print(
            f"{cid}: {len(said)} utterances (longest {max(map(len, said), default=0)} chars),"
            f" {skipped:.1f} s skipped, longest run of one sentence {runs}"
        )
        assert runs <= 2, f"{cid}: {sentence!r} {runs} times in a row: {said}"
        # a loop of punctuation (". . . .") makes no sentence: the same token in a row
        token_runs, token = longest_run([w.lower() for u in said for w in u.split()])
        assert token_runs <= 5, f"{cid}: {token!r} {token_runs} times in a row: {said}"
        longest = max(said, key=len, default="")
        assert len(longest) <= CAP.max_utterance_chars + CAP_SLACK_CHARS, longest

    assert any(n.code == "lag_skip" for n in got["system"].notices), "the skip never acted"
    text = got["system"].text
    after_meeting = set(normalize(text)) & {w for w in normalize(clean_reference(speech_dir))}
    heard = {w for w in after_meeting if len(w) >= 4}
    wanted = {w for w in normalize(clean_reference(speech_dir)) if len(w) >= 4}
    print(f"clean speech words found: {len(heard)}/{len(wanted)}; system text: {text!r}")
    assert len(heard) >= 0.5 * len(wanted), (sorted(wanted - heard), text)
