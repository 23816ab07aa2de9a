"""A call on a laptop without headphones, on the virtual sound card: the system audio plays a
talk, the microphone hears it back (an echo path), and the user speaks short turns over it and
then alone. The real desktop app captions both sources; its history is scored afterwards.

Echo paths (``add_echo_path``):

- ``loopback``: PulseAudio's module-loopback copies the speaker's monitor into the microphone's
  feed, 40 ms late and 13 dB down (linear, attenuated, delayed);
- ``room``: the talk through sox's ``reverb``, 80 ms late and 10 dB down, played into the
  microphone's feed in step with the system audio (a reverberant room);
- ``none``: no echo (the reference run).

Used by ``bench/echo.py`` (both paths, several models, JSON) and by the CI test
``tests/whisper_desktop/test_echo_e2e.py``.
"""

from __future__ import annotations

import csv
import signal
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from server_core.wer import edit_distance, normalize
from tests.support.app_process import read_state, start_app, wait_listening
from tests.support.desktop_env import MIC_FEED_SINK, SPEAKER_SINK, DesktopEnv, resample_wav

ECHO_PATHS = ("loopback", "room", "none")
LOOPBACK_LATENCY_MS = 40
LOOPBACK_GAIN_DB = -13
ROOM_DELAY_S = 0.08
ROOM_GAIN_DB = -10
SR = 16000


@dataclass(frozen=True)
class Clip:
    name: str
    wav: Path  # 48 kHz, padded: what paplay plays
    reference: str
    seconds: float


@dataclass(frozen=True)
class Turn:
    clip: Clip
    at: float  # seconds after the scene starts
    during_system: bool


@dataclass
class Scene:
    system: Clip
    room: Clip  # the talk as a reverberant room returns it to the microphone
    turns: list[Turn]
    tail_seconds: float = 12.0

    @property
    def seconds(self) -> float:
        ends = [self.system.seconds] + [t.at + t.clip.seconds for t in self.turns]
        return max(ends)


def _prepare(name: str, audio: np.ndarray, reference: str, work: Path) -> Clip:
    raw = work / f"{name}-16k.wav"
    sf.write(raw, audio, SR, subtype="PCM_16")
    wav = resample_wav(raw, work / f"{name}.wav")
    return Clip(name, wav, reference, sf.info(wav).duration)


def system_talk(speech_dir: Path, seconds: float, work: Path) -> Clip:
    """ljs_lj001_b cut after the last whole sentence within ``seconds``."""
    with open(speech_dir / "ljs_lj001_b.segments.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if float(r["end_s"]) <= seconds]
    audio, rate = sf.read(speech_dir / "ljs_lj001_b.wav", dtype="float32")
    assert rate == SR
    end = float(rows[-1]["end_s"]) + 0.2
    return _prepare("system", audio[: int(end * SR)], " ".join(r["text"] for r in rows), work)


def room_echo(talk: Clip, work: Path) -> Clip:
    """The talk as a room returns it: reverb, 80 ms later, 10 dB down."""
    out = work / "room.wav"
    subprocess.run(
        ["sox", str(talk.wav), str(out), "reverb", "60", "50", "100",
         "pad", str(ROOM_DELAY_S), "0", "vol", f"{ROOM_GAIN_DB}dB"],
        check=True,
    )  # fmt: skip
    return Clip("room", out, talk.reference, sf.info(out).duration)


def user_clip(speech_dir: Path, name: str, work: Path) -> Clip:
    audio, rate = sf.read(speech_dir / f"{name}.wav", dtype="float32")
    assert rate == SR
    reference = (speech_dir / f"{name}.txt").read_text(encoding="utf-8").strip()
    return _prepare(f"user-{name}", audio, reference, work)


def make_scene(speech_dir: Path, work: Path, system_seconds: float, turns: list[str],
               gap_seconds: float = 20.0, first_turn_at: float = 12.0) -> Scene:  # fmt: skip
    """The talk for ``system_seconds``; each turn once over it (from ``first_turn_at``, every
    ``gap_seconds``), then each again alone after the talk ends."""
    work.mkdir(parents=True, exist_ok=True)
    talk = system_talk(speech_dir, system_seconds, work)
    clips = [user_clip(speech_dir, n, work) for n in turns]
    scheduled = [Turn(c, first_turn_at + i * gap_seconds, True) for i, c in enumerate(clips)]
    assert scheduled[-1].at + clips[-1].seconds < talk.seconds, "turns must end inside the talk"
    at = talk.seconds + 3.0
    for c in clips:
        scheduled.append(Turn(c, at, False))
        at += c.seconds + 3.0
    return Scene(talk, room_echo(talk, work), scheduled)


# -- the echo path ---------------------------------------------------------------------------


def add_echo_path(env: DesktopEnv, path: str) -> str | None:
    """Loads the ``loopback`` path into PulseAudio; returns its module index (None otherwise)."""
    if path != "loopback":
        return None
    module = env.pactl(
        "load-module", "module-loopback", f"source={SPEAKER_SINK}.monitor",
        f"sink={MIC_FEED_SINK}", f"latency_msec={LOOPBACK_LATENCY_MS}",
    ).strip()  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in env.pactl("list", "short", "sink-inputs").splitlines():
            fields = line.split("\t")  # index, sink, client, driver, format
            if len(fields) > 3 and fields[3] == "module-loopback.c":
                env.pactl("set-sink-input-volume", fields[0], f"{LOOPBACK_GAIN_DB}dB")
                return module
        time.sleep(0.1)
    raise RuntimeError("module-loopback made no sink input")


def remove_echo_path(env: DesktopEnv, module: str | None) -> None:
    if module is not None:
        env.pactl("unload-module", module)


# -- the app ---------------------------------------------------------------------------------


@dataclass
class SceneRun:
    rows: list[tuple[str, str, float, float, float]]  # client, text, start, end, session wall
    started_at: float  # wall time of the scene's start
    final_state: dict
    log: str
    exit_code: int
    ready_seconds: float
    cpu_seconds: float = 0.0


def run_scene(env: DesktopEnv, model: str, scene: Scene, echo_path: str, echo_on: bool,
              work: Path, screenshot: tuple[float, Path] | None = None) -> SceneRun:  # fmt: skip
    """The real app with both captures while the scene plays; its history afterwards.
    ``screenshot``: (seconds into the scene, PNG) of the overlay, taken once."""
    from whisper_desktop.settings import Key, open_qsettings

    tag = f"{model}-{echo_path}-{'on' if echo_on else 'off'}"
    data_dir, state = work / f"data-{tag}", work / f"state-{tag}.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    qs = open_qsettings(data_dir)
    qs.setValue(Key.ECHO_CANCELLATION.value, echo_on)
    qs.sync()
    console_path = work / f"app-{tag}.log"
    module = add_echo_path(env, echo_path)
    players: list[subprocess.Popen] = []
    with open(console_path, "w") as console:
        t_launch = time.monotonic()
        app = start_app(env.child_env(), model, data_dir, state, console)
        try:
            wait_listening(state, app, 600)
            ready = time.monotonic() - t_launch
            time.sleep(2.0)  # the canceller and the VAD see some silence first
            t0 = time.time()
            players = _play(env, scene, echo_path, t0)
            while time.time() - t0 < scene.seconds + scene.tail_seconds:
                if app.poll() is not None:
                    raise RuntimeError(f"the app exited with {app.returncode} during the scene")
                if screenshot is not None and time.time() - t0 >= screenshot[0]:
                    _overlay_shot(env, state, screenshot[1])
                    screenshot = None
                time.sleep(0.5)
            cpu = _cpu_seconds(app.pid)
            app.send_signal(signal.SIGTERM)
            rc = app.wait(60)
        finally:
            for p in players:
                if p.poll() is None:
                    p.terminate()
                    p.wait(10)
            if app.poll() is None:
                app.kill()
                app.wait()
            remove_echo_path(env, module)
    return SceneRun(
        rows=_history(data_dir / "history.sqlite3"),
        started_at=t0,
        final_state=read_state(state),
        log=console_path.read_text(errors="replace"),
        exit_code=rc,
        ready_seconds=round(ready, 1),
        cpu_seconds=cpu,
    )


def _overlay_shot(env: DesktopEnv, state: Path, png: Path) -> None:
    x, y, w, h = read_state(state)["overlay"]["geometry"]
    env.screenshot(png, crop=(x, y, w, h))


def _play(env: DesktopEnv, scene: Scene, echo_path: str, t0: float) -> list[subprocess.Popen]:
    """Start the talk (and the room's echo of it) now; the turns on a thread at their times."""
    players = [env.play(scene.system.wav, SPEAKER_SINK)]
    if echo_path == "room":
        players.append(env.play(scene.room.wav, MIC_FEED_SINK))

    def turns() -> None:
        for turn in sorted(scene.turns, key=lambda t: t.at):
            delay = t0 + turn.at - time.time()
            if delay > 0:
                time.sleep(delay)
            players.append(env.play(turn.clip.wav, MIC_FEED_SINK))

    threading.Thread(target=turns, daemon=True).start()
    return players


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        import os

        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _history(db: Path) -> list[tuple[str, str, float, float, float]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(
            'SELECT u.client_id, u.text, u.start, u."end", s.started_at FROM utterances u '
            "JOIN sessions s ON s.id = u.session_id ORDER BY u.id"
        ).fetchall()
    finally:
        con.close()


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class TurnScore:
    name: str
    during_system: bool
    reference_words: int
    errors: int
    text: str
    inserted: int = 0  # words in the turn's text beyond what the user said (echo, mostly)


@dataclass
class SceneScore:
    system_words: int
    system_wer: float
    you_stray_words: int  # You-row words outside every user turn: the echo that got through
    stray_texts: list[str] = field(default_factory=list)
    turns: list[TurnScore] = field(default_factory=list)

    @property
    def stray_share(self) -> float:
        return self.you_stray_words / max(1, self.system_words)

    @property
    def extra_words(self) -> int:
        """You-row words the user did not say while the talk played: stray utterances, and
        words inserted into the user's turns over the talk."""
        return self.you_stray_words + sum(t.inserted for t in self.turns if t.during_system)

    @property
    def extra_share(self) -> float:
        return self.extra_words / max(1, self.system_words)

    def user_wer(self, during_system: bool) -> float:
        mine = [t for t in self.turns if t.during_system == during_system]
        return sum(t.errors for t in mine) / max(1, sum(t.reference_words for t in mine))

    def as_dict(self) -> dict:
        return {
            "system_words": self.system_words,
            "system_wer": round(self.system_wer, 4),
            "you_stray_words": self.you_stray_words,
            "you_stray_share_of_system_words": round(self.stray_share, 4),
            "you_extra_words": self.extra_words,
            "you_extra_share_of_system_words": round(self.extra_share, 4),
            "user_wer_over_system_audio": round(self.user_wer(True), 4),
            "user_wer_alone": round(self.user_wer(False), 4),
            "stray_texts": [t[:160] for t in self.stray_texts],
            "turns": [t.__dict__ for t in self.turns],
        }


TURN_MARGIN_BEFORE = 0.5
TURN_MARGIN_AFTER = 2.0


def inserted_words(reference: list[str], hypothesis: list[str]) -> int:
    """Words of ``hypothesis`` that a minimal alignment with ``reference`` matches to nothing."""
    import jiwer

    if not hypothesis:
        return 0
    if not reference:
        return len(hypothesis)
    return jiwer.process_words(" ".join(reference), " ".join(hypothesis)).insertions


def score(run: SceneRun, scene: Scene) -> SceneScore:
    """Each You utterance belongs to the turn whose time it overlaps, or is stray (echo)."""
    system_text = " ".join(r[1] for r in run.rows if r[0] == "system")
    ref = normalize(scene.system.reference)
    system_wer = edit_distance(ref, normalize(system_text)) / max(1, len(ref))
    per_turn: dict[int, list[str]] = {i: [] for i in range(len(scene.turns))}
    stray: list[str] = []
    for client, text, start, end, session_wall in run.rows:
        if client != "user" or not text.strip():
            continue
        a, b = session_wall + start - run.started_at, session_wall + end - run.started_at
        owner, most = None, 0.0  # the turn it overlaps most (an utterance may start early)
        for i, turn in enumerate(scene.turns):
            lo, hi = turn.at - TURN_MARGIN_BEFORE, turn.at + turn.clip.seconds + TURN_MARGIN_AFTER
            overlap = min(b, hi) - max(a, lo)
            if overlap > most:
                owner, most = i, overlap
        if owner is None:
            stray.append(text)
        else:
            per_turn[owner].append(text)
    turns = []
    for i, turn in enumerate(scene.turns):
        hyp = " ".join(per_turn[i])
        r = normalize(turn.clip.reference)
        h = normalize(hyp)
        turns.append(
            TurnScore(
                turn.clip.name,
                turn.during_system,
                len(r),
                edit_distance(r, h),
                hyp,
                inserted_words(r, h),
            )  # fmt: skip
        )
    return SceneScore(
        system_words=len(normalize(system_text)),
        system_wer=system_wer,
        you_stray_words=sum(len(normalize(t)) for t in stray),
        stray_texts=stray,
        turns=turns,
    )
