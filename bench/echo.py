"""Echo: the microphone hears the speakers. The real desktop app on the virtual sound card, with
an echo path from the speaker into the microphone, while a talk plays as system audio and the
user speaks short turns over it and then alone (tests/support/echo_scene.py). Prints JSON.

Per model and echo path (``loopback``: module-loopback, 40 ms, -13 dB; ``room``: sox reverb,
80 ms, -10 dB; ``none``: no echo), with echo cancellation on, and the loopback path with it off
(the app before the canceller):

- the You row's words the user did not say while the talk played (outside the user's turns, and
  inserted into them), as a share of the System row's words;
- the user's WER over their turns while the talk plays, and over the same turns alone;
- the System row's WER, against the no-echo run;
- the canceller's compute per audio second and how long it holds the microphone's audio.

    python bench/echo.py --models tiny.en base
    python bench/echo.py --models tiny.en --paths loopback --system-seconds 60   # a quick look
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dev_set import speech_dir  # noqa: E402
from tests.support.desktop_env import DesktopEnv, missing_binaries  # noqa: E402
from tests.support.echo_scene import make_scene, run_scene, score  # noqa: E402

log = logging.getLogger("echo-bench")
TURNS = ["jfk_inaugural", "fleurs_en_002", "ls_1089_134686_0000"]  # the three turns
MAX_STRAY_SHARE = 0.02
MAX_DOUBLE_TALK_RATIO = 1.3
MAX_SYSTEM_WER_RATIO = 1.10
MAX_COMPUTE = 0.03
MAX_HOLD_MS = 30.0


def one_run(env, model: str, scene, path: str, echo_on: bool, work: Path) -> dict:
    t = time.monotonic()
    run = run_scene(env, model, scene, path, echo_on, work)
    s = score(run, scene)
    echo = run.final_state.get("echo", {})
    result = {
        "model": model,
        "echo_path": path,
        "echo_cancellation": echo_on,
        **s.as_dict(),
        "canceller": echo.get("canceller"),
        "guard_dropped_words": echo.get("guard_dropped_words"),
        "app_exit_code": run.exit_code,
        "app_cpu_seconds": round(run.cpu_seconds, 1),
        "ready_seconds": run.ready_seconds,
        "wall_seconds": round(time.monotonic() - t, 1),
    }
    log.info("%s", json.dumps({k: v for k, v in result.items() if k != "turns"}))
    return result


def verdicts(runs: list[dict]) -> dict:
    """The issue's must-shows, per model and echo path."""
    out = {}
    for r in runs:
        if not r["echo_cancellation"] or r["echo_path"] == "none":
            continue
        ref = next((x for x in runs if x["model"] == r["model"] and x["echo_path"] == "none"), None)
        alone = r["user_wer_alone"]
        c = r.get("canceller") or {}
        out[f"{r['model']}/{r['echo_path']}"] = {
            "echo_share_ok": r["you_extra_share_of_system_words"] <= MAX_STRAY_SHARE,
            "double_talk_ratio": round(r["user_wer_over_system_audio"] / alone, 2)
            if alone
            else None,
            "double_talk_ok": r["user_wer_over_system_audio"]
            <= MAX_DOUBLE_TALK_RATIO * max(alone, 1e-9),
            "system_wer_ratio": round(r["system_wer"] / ref["system_wer"], 2)
            if ref and ref["system_wer"]
            else None,
            "system_ok": ref is not None
            and r["system_wer"] <= MAX_SYSTEM_WER_RATIO * max(ref["system_wer"], 0.01),
            "compute_ok": c.get("compute_per_audio_second", 1.0) <= MAX_COMPUTE,
            "hold_ok": c.get("hold_ms_mean", 1e9) <= MAX_HOLD_MS,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--paths", nargs="+", default=["loopback", "room"])
    ap.add_argument("--system-seconds", type=float, default=75.0, help="length of the talk")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run with echo off")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    missing = missing_binaries("Xvfb", "trayer", "pulseaudio", "pactl", "paplay", "sox")
    if missing:
        raise SystemExit("missing: " + ", ".join(missing))
    work = Path(tempfile.mkdtemp(prefix="wd-echo-"))
    env = DesktopEnv(work / "env")
    env.root.mkdir()
    t_start = time.monotonic()
    runs: list[dict] = []
    try:
        env.start_pulse()
        env.start_display(tray=True)
        scene = make_scene(speech_dir(), work / "clips", args.system_seconds, TURNS)
        plan = [("none", True)] + [(p, True) for p in args.paths]
        if not args.no_baseline:
            plan.append(("loopback", False))
        for model in args.models:
            for path, on in plan:
                try:
                    runs.append(one_run(env, model, scene, path, on, work))
                except Exception as exc:  # the other runs still go; the JSON says what failed
                    log.exception("%s %s failed", model, path)
                    runs.append({"model": model, "echo_path": path, "echo_cancellation": on,
                                 "error": repr(exc)})  # fmt: skip
    finally:
        env.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ok_runs = [r for r in runs if "error" not in r]
    print(
        json.dumps(
            {
                "bench": "echo",
                "mode": "desktop app (Xvfb, PulseAudio virtual speaker + mic, echo path)",
                "system_clip": "ljs_lj001_b",
                "system_seconds": scene.system.seconds,
                "turns": TURNS,
                "work_dir": str(work) if args.keep else None,
                "wall_seconds": round(time.monotonic() - t_start, 1),
                "runs": runs,
                "verdicts": verdicts(ok_runs),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
