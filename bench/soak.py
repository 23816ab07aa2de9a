"""A long soak of the real desktop app: both sources talking at once, for a long time, per model.

The app (``python -m whisper_desktop``) runs under Xvfb + trayer with PulseAudio's virtual
speaker and microphone (tests/support/desktop_env.py). A playlist plays into each source for
``--minutes`` per model: the system audio gets the noisy meeting (ami_mix60) followed by clean
LJ Speech, the case where a repetition loop once hid a minute of speech; the microphone gets
jfk_inaugural, FLEURS and LibriSpeech clips. Afterwards the history database is read and one
JSON object printed: per model and source, the utterances, the longest run of one sentence
repeated in a row, the longest utterance, the app's resident memory at the start and the end,
the lag-skip notices in its log, and the wall time. Not run in CI.

The hour-long soak of issue 13 (``--minutes 30`` per model, two models):

    cd /work/libs && nohup env PYTHONPATH=$PWD timeout 4500 /work/main/.venv/bin/python \
        bench/soak.py --minutes 30 --models tiny.en,base \
        > /work/soak-result.json 2> /work/soak.err &

A quick look: ``python bench/soak.py --minutes 2 --models tiny.en``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.app_process import start_app, wait_listening  # noqa: E402
from tests.support.desktop_env import (  # noqa: E402
    MIC_FEED_SINK,
    SPEAKER_SINK,
    DesktopEnv,
    missing_binaries,
    resample_wav,
)
from tests.support.repeats import longest_run, sentences  # noqa: E402

log = logging.getLogger("soak")
SPEECH = Path(os.environ.get("WHISPER_DESKTOP_SPEECH_DIR", ROOT.parent / "shared" / "speech"))
SYSTEM_PLAYLIST = ["ami_mix60", "ljs_lj001_a", "ami_mix60", "ljs_lj001_b"]
MIC_PLAYLIST = [
    "jfk_inaugural",
    "fleurs_en_000",
    "ls_1089_134686_0000",
    "fleurs_en_001",
    "ls_2412_153948_0000",
    "fleurs_en_002",
    "ls_1089_134691_0001",
    "fleurs_en_005",
]
MAX_REPEATS = 2  # a sentence said more than twice in a row is a loop
MAX_TOKEN_REPEATS = 5  # "no, no, no" is speech; the same word six times in a row is a loop
SANE_UTTERANCE_CHARS = 600
LAG_SKIP = re.compile(r"fell behind; skipped")


@dataclass
class Player:
    """Plays a playlist into one sink, over and over, until stopped."""

    env: DesktopEnv
    sink: str
    wavs: list[Path]
    played: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _proc: subprocess.Popen | None = None

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self._run, daemon=True)
        t.start()
        return t

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            wav = self.wavs[i % len(self.wavs)]
            self._proc = self.env.play(wav, self.sink)
            self.played.append(wav.stem)
            self._proc.wait()
            i += 1

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)


def rss_mb(pid: int) -> float | None:
    try:
        import psutil  # type: ignore[import-not-found]

        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except ImportError:
        pass
    except Exception:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def history_figures(db: Path) -> dict[str, dict]:
    """Per source: the history's utterances, repeats in a row, the longest utterance."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(
        'SELECT client_id, text, start, "end" FROM utterances ORDER BY session_id, id'
    ).fetchall()
    con.close()
    out: dict[str, dict] = {}
    for client in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == client and r[1].strip()]
        texts = [r[1] for r in mine]
        runs, sentence = longest_run(sentences(texts))
        # a loop of punctuation (". . . .") has no sentence: count the same token in a row too
        token_runs, token = longest_run([w.lower() for t in texts for w in t.split()])
        longest = max(mine, key=lambda r: len(r[1]), default=None)
        out[client] = {
            "utterances": len(mine),
            "words": sum(len(t.split()) for t in texts),
            "max_sentence_repeats_in_a_row": runs,
            "most_repeated_sentence": sentence[:200] if runs > 1 else "",
            "max_token_repeats_in_a_row": token_runs,
            "most_repeated_token": token[:50] if token_runs > 1 else "",
            "longest_utterance_chars": len(longest[1]) if longest else 0,
            "longest_utterance_seconds": round(longest[3] - longest[2], 1) if longest else 0,
            "longest_utterance_text": longest[1][:300] if longest else "",
            "ok": runs <= MAX_REPEATS
            and token_runs <= MAX_TOKEN_REPEATS
            and (len(longest[1]) if longest else 0) <= SANE_UTTERANCE_CHARS,
        }
    return out


def soak_model(env: DesktopEnv, model: str, minutes: float, wavs: dict[str, list[Path]],
               work: Path) -> dict:  # fmt: skip
    data_dir, state = work / f"data-{model}", work / f"state-{model}.json"
    console = open(work / f"app-{model}.log", "w")  # noqa: SIM115 (the app's lifetime)
    t_launch = time.monotonic()
    app = start_app(env.child_env(), model, data_dir, state, console)
    players: list[Player] = []
    rss: list[float] = []
    try:
        wait_listening(state, app, 600)
        ready_s = time.monotonic() - t_launch
        rss_start = rss_mb(app.pid)
        log.info("%s: ready in %.0f s, RSS %s MB", model, ready_s, rss_start)
        players = [
            Player(env, SPEAKER_SINK, wavs["system"]),
            Player(env, MIC_FEED_SINK, wavs["user"]),
        ]
        t0 = time.monotonic()
        for p in players:
            p.start()
        while time.monotonic() - t0 < minutes * 60:
            if app.poll() is not None:
                raise RuntimeError(f"the app exited with {app.returncode} during the soak")
            if (m := rss_mb(app.pid)) is not None:
                rss.append(m)
            time.sleep(10)
        for p in players:
            p.stop()
        played_s = time.monotonic() - t0
        time.sleep(15)  # the engine catches up and the VAD closes the last utterances
        rss_end = rss_mb(app.pid)
        app.send_signal(signal.SIGTERM)
        try:
            rc = app.wait(60)
        except subprocess.TimeoutExpired:
            app.kill()
            rc = app.wait()
    finally:
        for p in players:
            p.stop()
        if app.poll() is None:
            app.kill()
            app.wait()
        console.close()
    logs = "".join(
        p.read_text(errors="replace") for p in sorted(data_dir.glob("whisper-desktop.log*"))
    )
    sources = history_figures(data_dir / "history.sqlite3")
    return {
        "model": model,
        "minutes_played": round(played_s / 60, 2),
        "ready_seconds": round(ready_s, 1),
        "rss_mb_start": rss_start,
        "rss_mb_end": rss_end,
        "rss_mb_max": max(rss, default=None),
        "exit_code": rc,
        "lag_skip_notices": len(LAG_SKIP.findall(logs)),
        "clips_played": {p.sink: len(p.played) for p in players},
        "sources": sources,
        "ok": rc == 0 and bool(sources) and all(s["ok"] for s in sources.values()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="speech per model")
    ap.add_argument("--models", default="tiny.en,base")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, history)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    missing = missing_binaries("Xvfb", "trayer", "pulseaudio", "pactl", "paplay", "sox")
    if missing:
        raise SystemExit("missing: " + ", ".join(missing))
    work = Path(tempfile.mkdtemp(prefix="wd-soak-"))
    env = DesktopEnv(work / "env")
    env.root.mkdir()
    t_start = time.monotonic()
    results: list[dict] = []
    try:
        env.start_pulse()
        env.start_display(tray=True)
        wavs = {
            src: [resample_wav(SPEECH / f"{n}.wav", work / f"{src}-{n}.wav") for n in names]
            for src, names in (("system", SYSTEM_PLAYLIST), ("user", MIC_PLAYLIST))
        }
        for model in args.models.split(","):
            try:
                result = soak_model(env, model.strip(), args.minutes, wavs, work)
            except Exception as exc:  # the other models still run; the JSON says what failed
                log.exception("%s failed", model)
                result = {"model": model.strip(), "error": repr(exc), "ok": False}
            log.info("%s", json.dumps(result))
            results.append(result)
    finally:
        env.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "mode": "desktop app (Xvfb, PulseAudio virtual speaker + mic), history database",
                "minutes_per_model": args.minutes,
                "max_repeats_allowed": MAX_REPEATS,
                "max_token_repeats_allowed": MAX_TOKEN_REPEATS,
                "sane_utterance_chars": SANE_UTTERANCE_CHARS,
                "system_playlist": SYSTEM_PLAYLIST,
                "mic_playlist": MIC_PLAYLIST,
                "work_dir": str(work) if args.keep else None,
                "wall_seconds": round(time.monotonic() - t_start, 1),
                "models": results,
                "ok": all(r["ok"] for r in results),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
