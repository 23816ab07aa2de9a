"""The desktop app for real: Xvfb + trayer + PulseAudio, the real engine (tiny.en), real speech.

1. ``whisper-desktop --model tiny.en --data-dir TMP --port P`` starts in the tray, under
   ``LANG=en_US.UTF-8`` and with no ``--language``: the first run takes English from the locale.
2. One clip plays into the virtual microphone and, at the same time, another into the speaker.
3. Within ``FIRST_WORDS_BOUND_S`` the overlay shows words of each clip in its colour (checked on
   an X screenshot of the overlay by pixel colour; the app's debug state file says where it is).
4. ``whisper-desktop-client --file`` connected to the app's port appears as a third colour.
5. Quit through the tray menu (xdotool) is clean within 5 s.
6. The history export has both clips under ``user`` and ``system``, each with a normalized WER at
   most 1.5x the offline ``whisper.transcribe`` WER of the same model.
7. The SRT export parses (the ``srt`` package) into cues of at most 84 characters and 7 s.

The overlay screenshot is saved in test-artifacts/ and its path printed.
``WHISPER_DESKTOP_APP=dist/whisper-desktop/whisper-desktop`` runs the same test on a frozen build.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.app_process import free_port
from tests.support.desktop_env import MIC_FEED_SINK, SPEAKER_SINK, resample_wav
from tests.support.qt import count_colour

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.timeout(900)]

MIC_CLIP = "fleurs_en_000"  # 10.6 s
SYSTEM_CLIP = "ls_1089_134686_0000"  # 10.4 s
REMOTE_CLIP = "fleurs_en_003"  # 5.8 s
REMOTE_ID = "phone-1"
# playback start -> a word of each clip on screen. Measured on a shared 2-core CPU with tiny.en:
# 3.6-6.4 s for the first word, 11-16 s for two words (the engine lags 4-6 s under load there).
FIRST_WORDS_BOUND_S = 15.0
QUIT_BOUND_S = 5.0
COLORS = {"user": "#4da6ff", "system": "#ffd633"}


def app_command() -> list[str]:
    """The app under test: this checkout's module, or the command in WHISPER_DESKTOP_APP."""
    frozen = shlex.split(os.environ.get("WHISPER_DESKTOP_APP", ""))
    return frozen or [sys.executable, "-m", "whisper_desktop"]


def client_command() -> list[str]:
    """`whisper-desktop-client`: the installed script next to this Python, else the module."""
    script = Path(sys.executable).with_name("whisper-desktop-client")
    if script.exists():
        return [str(script)]
    found = shutil.which("whisper-desktop-client")
    if found:
        return [found]
    return [
        sys.executable,
        "-c",
        "import sys; from server_core.client.main import main; sys.exit(main())",
    ]


def read_state(path: Path) -> dict:
    for _ in range(20):
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            time.sleep(0.05)
    raise AssertionError(f"no readable state in {path}")


def wait_state(path: Path, pred, timeout: float, what: str, proc: subprocess.Popen) -> dict:
    deadline = time.monotonic() + timeout
    st: dict = {}
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the app exited with {proc.returncode} while waiting: {what}"
        if path.exists():
            st = read_state(path)
            if pred(st):
                return st
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last state {st}")


def words(text: str) -> set[str]:
    from server_core.wer import normalize

    return set(normalize(text))


def shows_clip(st: dict, client_id: str, reference: str, at_least: int = 1) -> bool:
    src = st["overlay"]["sources"].get(client_id)
    return bool(src) and len(words(src["text"]) & words(reference)) >= at_least


def colour_pixels(png: Path, colour: str) -> int:
    from PySide6.QtGui import QImage

    img = QImage(str(png))
    assert not img.isNull(), png
    return count_colour(img, colour)


def english_locale(env: dict[str, str]) -> dict[str, str]:
    """A user whose desktop speaks US English, and no language of ours set anywhere."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        env.pop(var, None)
    return {**env, "LANG": "en_US.UTF-8"}


def subtitle_cues(data_dir: Path) -> list:
    import srt

    r = subprocess.run(
        [sys.executable, "-m", "whisper_desktop", "history", "export", "--format", "srt",
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return list(srt.parse(r.stdout, ignore_errors=False))


def history_text(data_dir: Path, client: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "whisper_desktop", "history", "export", "--format", "txt",
         "--client", client, "--data-dir", str(data_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    from whisper_desktop.source_names import source_label

    prefix = f"{source_label(client)}: "  # "You", "System", "Phone 1", as the overlay says
    texts = [line.split("] ", 1)[1] for line in r.stdout.splitlines() if "] " in line]
    assert all(t.startswith(prefix) for t in texts), r.stdout
    return " ".join(t[len(prefix) :] for t in texts)


def offline_wer(clip: Path) -> float:
    import whisper

    from server_core.audio.files import read_wav
    from server_core.models import load_model
    from server_core.wer import wer

    model = load_model("tiny.en")
    result = whisper.transcribe(model, read_wav(clip), language="en", fp16=False)
    return wer(clip.with_suffix(".txt").read_text(), result["text"])


def test_desktop_app_end_to_end(desktop_env, speech_dir, artifacts_dir, tmp_path) -> None:
    from server_core.wer import wer

    env = desktop_env
    clips = {c: speech_dir / f"{n}.wav" for c, n in
             (("user", MIC_CLIP), ("system", SYSTEM_CLIP), (REMOTE_ID, REMOTE_CLIP))}  # fmt: skip
    refs = {c: p.with_suffix(".txt").read_text().strip() for c, p in clips.items()}
    words("warm up")  # imports whisper's normalizer (and torch) now, not while timing
    played = {c: resample_wav(clips[c], tmp_path / f"{c}48k.wav") for c in ("user", "system")}
    data_dir, state = tmp_path / "data", tmp_path / "state.json"
    port = free_port()
    log_path = artifacts_dir / "desktop_e2e_app.log"
    app = subprocess.Popen(
        [*app_command(), "--model", "tiny.en",
         "--data-dir", str(data_dir), "--port", str(port), "-v"],
        env=english_locale(env.child_env(WHISPER_DESKTOP_STATE_FILE=str(state))), cwd=ROOT,
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        t_launch = time.monotonic()
        st = wait_state(
            state,
            lambda s: (
                s["state"] == "listening"
                and all(s["captures"].get(c, [""])[0] == "running" for c in ("user", "system"))
                and bool(s["server"]["ws_url"])
            ),
            180,
            "model loaded, both captures running",
            app,
        )
        print(f"app ready in {time.monotonic() - t_launch:.1f} s: {st['tooltip']!r}")
        assert st["tray"] and st["tray"][2] > 0, "the tray icon is not embedded in trayer"
        assert not st["main_window"]
        assert f"127.0.0.1:{port}" in st["server"]["ws_url"]
        assert "tiny.en" in st["tooltip"] and "Language: en" in st["tooltip"]

        # 2-3. both clips at once; words of each in the overlay
        t0 = time.monotonic()
        players = [
            env.play(played["user"], MIC_FEED_SINK),
            env.play(played["system"], SPEAKER_SINK),
        ]
        first: dict[str, float] = {}  # a word of the clip on screen
        two: dict[str, float] = {}  # two words of the clip on screen
        deadline = t0 + FIRST_WORDS_BOUND_S + 30
        while len(two) < 2 and time.monotonic() < deadline:
            st = read_state(state)
            for c in ("user", "system"):
                for got, n in ((first, 1), (two, 2)):
                    if c not in got and shows_clip(st, c, refs[c], at_least=n):
                        got[c] = round(time.monotonic() - t0, 2)
            time.sleep(0.1)
        print(
            f"after playback start: first word on screen {first}, two words {two}"
            f" (bound {FIRST_WORDS_BOUND_S} s)"
        )
        assert set(two) == {"user", "system"}, st["overlay"]
        assert max(first.values()) <= FIRST_WORDS_BOUND_S
        assert st["overlay"]["visible"]
        for c, colour in COLORS.items():
            assert st["overlay"]["sources"][c]["color"] == colour
        shot = artifacts_dir / "desktop_overlay_local.png"
        env.screenshot(shot, tuple(st["overlay"]["geometry"]))
        counts = {c: colour_pixels(shot, colour) for c, colour in COLORS.items()}
        print(f"overlay screenshot: {shot} colour pixels {counts}")
        assert all(n > 40 for n in counts.values()), counts

        # 4. a remote client is a third source with its own colour
        client = subprocess.Popen(
            [*client_command(), "--server", f"ws://127.0.0.1:{port}",
             "--file", str(clips[REMOTE_ID]), "--client-id", REMOTE_ID, "--retries", "3"],
            env=env.child_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        t_client = time.monotonic()
        # the count first: the client leaves once its short clip is transcribed
        st = wait_state(
            state, lambda s: REMOTE_ID in s["remote_clients"], 15, "the client count", app
        )
        assert "Remote clients: 1" in st["tooltip"]
        st = wait_state(
            state,
            lambda s: shows_clip(s, REMOTE_ID, refs[REMOTE_ID], at_least=2),
            60,
            "the remote client's words",
            app,
        )
        print(f"remote words on screen {time.monotonic() - t_client:.1f} s after the client start")
        remote_colour = st["overlay"]["sources"][REMOTE_ID]["color"]
        assert remote_colour not in COLORS.values()
        shot3 = artifacts_dir / "desktop_overlay.png"
        env.screenshot(shot3, tuple(st["overlay"]["geometry"]))
        remote_px = colour_pixels(shot3, remote_colour)
        print(
            f"overlay screenshot with the remote client: {shot3} ({remote_colour}: {remote_px} px)"
        )
        assert remote_px > 40
        env.screenshot(artifacts_dir / "desktop_screen.png")

        out, _ = client.communicate(timeout=120)
        assert client.returncode == 0, out
        for p in players:
            assert p.wait(60) == 0
        # let the VAD close the last utterances
        last, stable_since = None, time.monotonic()
        while time.monotonic() - stable_since < 4 and time.monotonic() - t0 < 120:
            snap = json.dumps(read_state(state)["overlay"]["sources"])
            if snap != last:
                last, stable_since = snap, time.monotonic()
            time.sleep(0.2)

        # 5. quit through the tray menu
        tx, ty, tw, th = read_state(state)["tray"]
        r = env.xdotool("mousemove", str(tx + tw // 2), str(ty + th // 2), "click", "3")
        assert r.returncode == 0, r.stderr
        st = wait_state(state, lambda s: bool(s.get("tray_menu")), 10, "the tray menu", app)
        qx, qy, qw, qh = st["tray_menu"]["Quit"]
        t_quit = time.monotonic()
        env.xdotool("mousemove", str(qx + qw // 2), str(qy + qh // 2), "click", "1")
        rc = app.wait(15)
        quit_s = time.monotonic() - t_quit
        print(f"quit through the tray menu: exit code {rc} after {quit_s:.2f} s")
        assert rc == 0 and quit_s <= QUIT_BOUND_S
        assert read_state(state)["final"] is True
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()

    # 6. the history has both clips (and the remote one), WER against offline transcription
    for c in ("user", "system"):
        streamed = history_text(data_dir, c)
        w_stream = wer(refs[c], streamed)
        w_offline = offline_wer(clips[c])
        print(f"{c}: streamed WER {w_stream:.3f} vs offline {w_offline:.3f}; text {streamed!r}")
        # a clip of ~20 words: one word beyond 1.5x offline is within the streaming bound
        one_word = 1 / len(refs[c].split())
        assert w_stream <= 1.5 * w_offline + one_word + 1e-9, (c, streamed)
    remote_text = history_text(data_dir, REMOTE_ID)
    assert len(words(remote_text) & words(refs[REMOTE_ID])) >= 5, remote_text
    print(f"{REMOTE_ID}: WER {wer(refs[REMOTE_ID], remote_text):.3f}; text {remote_text!r}")
    assert os.path.getsize(shot3) > 1000
    print(f"overlay screenshot saved: {shot3}")

    # 7. subtitles: every cue at most two lines of 42 characters and 7 s
    cues = subtitle_cues(data_dir)
    assert len(cues) >= 3, cues
    for cue in cues:
        assert len(cue.content.replace("\n", "")) <= 84, cue
        assert all(len(line) <= 42 for line in cue.content.splitlines()), cue
        assert cue.end - cue.start <= timedelta(seconds=7), cue
    print(f"SRT export: {len(cues)} cues, the longest {max(len(c.content) for c in cues)} chars")
