"""The app's wiring (offscreen): tray menu actions, fallback window, single instance, no display.

The widget tests here drive a small scripted engine so that they run in seconds; the real engine,
real audio devices and a real display are exercised by ``test_desktop_e2e.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from whisper_desktop.qt_compat import protect_singletons  # noqa: E402

protect_singletons()  # PySide6 6.12.0 on Python 3.11 loses references: see qt_compat

from server_core.events import ClosedEvent, TranscriptEvent  # noqa: E402
from whisper_desktop.host import EngineHost, HostState  # noqa: E402
from whisper_desktop.settings import Overrides, load_settings, open_qsettings  # noqa: E402
from whisper_desktop.widgets.tray import TrayState  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = 16000


class ScriptedSession:
    """Every 0.5 s of pushed audio becomes the word " w<N>"; end() sends a final and closes."""

    def __init__(self, engine: ScriptedEngine, client_id: str, listener) -> None:
        self.engine, self.client_id, self.listener = engine, client_id, listener
        self.samples = 0
        self.words = 0
        self.closed = threading.Event()
        self.ended = False

    def push(self, chunk: np.ndarray) -> None:
        assert chunk.dtype == np.float32 and chunk.ndim == 1
        if self.ended:
            raise RuntimeError("closed")
        self.samples += chunk.size
        while (self.words + 1) * SR // 2 <= self.samples:
            self.words += 1
            t = self.words / 2
            self.listener(TranscriptEvent(self.client_id, f" w{self.words}", t - 0.5, t, False))

    def end(self) -> None:
        self.ended = True
        t = self.samples / SR
        self.listener(TranscriptEvent(self.client_id, " end.", t, t, True))
        self.listener(ClosedEvent(self.client_id))
        self.engine.sessions_.pop(self.client_id, None)
        self.closed.set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self.closed.wait(timeout)


class ScriptedEngine:
    def __init__(self, config, progress) -> None:
        self.model_name, self.language = config.model, config.language
        self.progress = progress
        self.sessions_: dict[str, ScriptedSession] = {}
        self.reconfigured: list[tuple] = []
        self.stopped = False

    def start(self) -> None:
        self.progress("loading the scripted model")

    def open_session(self, client_id, listener, **kwargs) -> ScriptedSession:
        assert client_id not in self.sessions_
        s = self.sessions_[client_id] = ScriptedSession(self, client_id, listener)
        return s

    def sessions(self) -> list:
        return [SimpleNamespace(client_id=c) for c in list(self.sessions_)]

    def reconfigure(self, model=None, language=None) -> None:
        self.reconfigured.append((model, language))
        self.model_name = model or self.model_name
        self.language = language or self.language

    def stop(self, flush: bool = True, timeout: float = 30.0) -> None:
        for s in list(self.sessions_.values()):
            s.end()
        self.stopped = True


class FakeServer:
    def __init__(self, engine, config) -> None:
        self.engine, self.config = engine, config
        self.url = f"http://127.0.0.1:{config.port}/"
        self.ws_url = f"ws://127.0.0.1:{config.port}/ws/transcription"
        lan = config.host != "127.0.0.1"
        self.lan_url = f"http://192.0.2.7:{config.port}/?token={config.token}" if lan else None
        self.token = config.token
        self.stopped = False

    def start(self) -> None:
        FakeServer.started.append(self)

    def stop(self, timeout: float = 1.0) -> None:
        self.stopped = True

    started: list = []


class SteadySource:
    """Feeds silence at real-time pace, like a device would."""

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return self.name

    def run(self, sink, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            sink(np.zeros(SR // 20, np.float32))


class BrokenSource(SteadySource):
    def run(self, sink, stop: threading.Event) -> None:
        from server_core.audio.sources import DeviceError

        raise DeviceError(f"{self.name} is not connected")


@pytest.fixture()
def make_app(qtbot, tmp_path: Path):
    from whisper_desktop.controller import DesktopApp

    made = []
    engines: list[ScriptedEngine] = []
    FakeServer.started = []

    def factory(config, progress):
        engines.append(ScriptedEngine(config, progress))
        return engines[-1]

    def make(tray: bool = True, source=SteadySource, engine_factory=factory, **overrides):
        host = EngineHost(
            engine_factory=engine_factory, server_factory=FakeServer, poll_seconds=0.2
        )
        app = DesktopApp(
            tmp_path,
            open_qsettings(tmp_path),
            Overrides(**{"model": "tiny.en", "port": 9555, **overrides}),
            host=host,
            source_factory=lambda cid, settings: source(f"{cid}-device"),
            tray_available=tray,
            device_listers=(lambda: ["Mic A"], lambda: ["Speakers"]),
        )
        quits: list[int] = []
        app.qapp = SimpleNamespace(quit=lambda: quits.append(1))
        app.quits = quits
        app.engines = engines
        made.append(app)
        return app

    yield make
    for app in made:
        if not app.finished:
            app.quit()
            qtbot.waitUntil(lambda app=app: app.finished, timeout=6000)
        for w in (
            app.overlay,
            app.main_window,
            app.history_window,
            app.settings_dialog,
            app.connect_dialog,
        ):
            if w is not None:
                w.close()


def words_of(app, cid: str) -> str:
    return app.overlay.snapshot().get(cid, {}).get("text", "")


def test_tray_menu_has_every_action(qtbot) -> None:
    from whisper_desktop.widgets.tray import AppActions, Tray

    tray = Tray(AppActions())
    texts = [a.text() if not a.isSeparator() else "-" for a in tray.menu.actions()]
    assert texts == [
        "Whisper Desktop — loading", "-", "Microphone", "System audio", "Show captions", "-",
        "Transcript history…", "Connect a device…", "Settings…", "-", "Quit",
    ]  # fmt: skip


def test_tray_actions_drive_the_app(qtbot, make_app, tmp_path: Path) -> None:
    app = make_app()
    app.start()
    a = app.actions
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    qtbot.waitUntil(lambda: bool(words_of(app, "user") and words_of(app, "system")), timeout=5000)
    info = app.status_info()
    assert info.state == TrayState.LISTENING
    tip = app.tray.icon.toolTip()
    assert "tiny.en" in tip and "Language: en" in tip
    assert "ws://127.0.0.1:9555/ws/transcription" in tip and "Remote clients: 0" in tip
    assert a.status.text() == "Whisper Desktop — listening"

    # Microphone off: its capture stops and its session is flushed into the history
    a.mic.trigger()
    assert not a.mic.isChecked() and "user" not in app.captures
    qtbot.waitUntil(lambda: "end." in words_of(app, "user"), timeout=3000)
    assert load_settings(open_qsettings(tmp_path)).mic_enabled is False
    a.system.trigger()
    assert app.status_info().state == TrayState.PAUSED
    a.mic.trigger()
    qtbot.waitUntil(lambda: "user" in app.captures, timeout=3000)
    assert app.status_info().state == TrayState.LISTENING

    # Show captions
    assert app.overlay.isVisible()
    a.captions.trigger()
    assert not app.overlay.isVisible()
    a.captions.trigger()
    assert app.overlay.isVisible()

    # Transcript history…
    a.history.trigger()
    w = app.history_window
    assert w.isVisible()
    texts = [w.utterances.topLevelItem(i).text(2) for i in range(w.utterances.topLevelItemCount())]
    assert any(t.startswith("w1") and t.endswith("end.") for t in texts)

    # Connect a device…: LAN is off, the dialog offers to turn it on
    a.connect_device.trigger()
    d = app.connect_dialog
    assert d.isVisible() and d.url.text() == "" and "LAN access is off" in d.intro.text()
    d.enable_lan.click()
    qtbot.waitUntil(lambda: bool(d.url.text()), timeout=5000)
    assert d.url.text() == f"http://192.0.2.7:9555/?token={app.settings.token}"
    assert not d.qr.pixmap().isNull()
    assert FakeServer.started[-1].config.host == "0.0.0.0"
    assert FakeServer.started[0].stopped
    assert load_settings(open_qsettings(tmp_path)).lan_enabled is True

    # Settings…: language and overlay font change live
    a.settings.trigger()
    sd = app.settings_dialog
    assert sd.isVisible()
    sd.model.setCurrentText("base")
    sd.language.setCurrentText("de")
    sd.font_size.setValue(31)
    sd.accept()
    qtbot.waitUntil(lambda: app.engines[0].reconfigured == [("base", "de")], timeout=5000)
    qtbot.waitUntil(lambda: app.status_info().model == "base", timeout=5000)
    assert app.overlay.style_options.font_size == 31
    stored = load_settings(open_qsettings(tmp_path))
    assert (stored.model, stored.language, stored.overlay_font_size) == ("base", "de", 31)
    assert stored.port == 9000  # the --port override is not saved

    # Quit: flushes, records, closes everything
    t0 = time.monotonic()
    a.quit.trigger()
    qtbot.waitUntil(lambda: app.finished, timeout=5000)
    assert time.monotonic() - t0 < 5 and app.quits == [1]
    assert app.engines[0].stopped and FakeServer.started[-1].stopped


def test_remote_clients_are_counted_recorded_and_coloured(qtbot, make_app) -> None:
    app = make_app()
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    server = FakeServer.started[-1]
    got: list = []
    session = server.engine.open_session("phone-1", got.append, meta={"peer": "192.0.2.9"})
    session.push(np.zeros(SR, np.float32))
    assert [e.text for e in got] == [" w1", " w2"]  # the WS listener still gets every event
    qtbot.waitUntil(lambda: words_of(app, "phone-1") == "w1 w2", timeout=3000)
    qtbot.waitUntil(lambda: "Remote clients: 1" in app.tray.icon.toolTip(), timeout=3000)
    assert app.overlay.snapshot()["phone-1"]["label"] == "phone-1"
    qtbot.waitUntil(lambda: bool(words_of(app, "user") and words_of(app, "system")), timeout=5000)
    colours = {v["color"] for v in app.overlay.snapshot().values()}
    assert len(colours) == 3
    session.end()
    qtbot.waitUntil(lambda: "Remote clients: 0" in app.tray.icon.toolTip(), timeout=3000)
    remote = [u.text for u in app.store.utterances(client_id="phone-1")]
    assert remote == ["w1 w2 end."]


def test_overlay_position_is_remembered(qtbot, make_app) -> None:
    first = make_app()
    first.start()
    with qtbot.waitSignal(first.overlay.geometry_changed, timeout=3000):
        first.overlay.setGeometry(40, 50, 600, 180)
    qtbot.waitUntil(lambda: first.settings.overlay_geometry == (40, 50, 600, 180), timeout=3000)
    first.quit()
    qtbot.waitUntil(lambda: first.finished, timeout=6000)
    second = make_app()
    g = second.overlay.geometry()
    assert (g.x(), g.y(), g.width(), g.height()) == (40, 50, 600, 180)


def test_fallback_window_without_tray(qtbot, make_app) -> None:
    app = make_app(tray=False)
    app.start()
    assert app.tray is None and app.main_window.isVisible()
    names = list(app.main_window.buttons)
    assert names == [
        "Microphone", "System audio", "Show captions", "Transcript history…",
        "Connect a device…", "Settings…", "Quit",
    ]  # fmt: skip
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    qtbot.waitUntil(lambda: "Listening" in app.main_window.status.text(), timeout=5000)
    app.main_window.buttons["System audio"].click()
    assert not app.actions.system.isChecked()
    app.main_window.buttons["Quit"].click()
    qtbot.waitUntil(lambda: app.finished, timeout=5000)


def test_device_failure_shows_and_retries(qtbot, make_app) -> None:
    app = make_app(source=BrokenSource)
    app.start()
    qtbot.waitUntil(lambda: len(app.status_info().detail.split(";")) == 2, timeout=8000)
    assert app.status_info().state == TrayState.ERROR
    detail = app.status_info().detail
    assert "Microphone: user-device is not connected" in detail
    assert "System audio: system-device is not connected" in detail
    assert "Microphone: user-device" in app.tray.icon.toolTip()
    app.actions.mic.trigger()
    app.actions.system.trigger()
    assert app.status_info().state == TrayState.PAUSED


def test_engine_failure_is_an_error_state(qtbot, make_app) -> None:
    def broken(config, progress):
        raise RuntimeError("model 'nope': not found\nmore")

    app = make_app(engine_factory=broken)
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.ERROR, timeout=5000)
    info = app.status_info()
    assert info.state == TrayState.ERROR and info.detail == "model 'nope': not found"


# -- real processes ----------------------------------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env.update(extra)
    return env


def test_no_display_prints_one_line_and_suggests_server_only(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "whisper_desktop", "--data-dir", str(tmp_path)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert "--server-only" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "whisper_desktop", "--data-dir", str(tmp_path)],
        env=_clean_env(DISPLAY=":987", QT_QPA_PLATFORM="xcb"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 2 and "cannot open the display :987" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_second_launch_shows_the_first_and_exits(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    env = _clean_env(QT_QPA_PLATFORM="offscreen", WHISPER_DESKTOP_STATE_FILE=str(state))
    argv = [sys.executable, "-m", "whisper_desktop", "--data-dir", str(tmp_path / "data"),
            "--model", "no-such-model", "--no-server"]  # fmt: skip
    first = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            state.exists() and json.loads(state.read_text())["state"] == "error"
        ):
            assert first.poll() is None, first.stdout.read()
            time.sleep(0.2)
        st = json.loads(state.read_text())
        assert "no-such-model" in st["detail"]
        second = subprocess.run(
            argv,
            env={**env, "WHISPER_DESKTOP_STATE_FILE": str(tmp_path / "other.json")},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert not (tmp_path / "other.json").exists()  # the second never started an app
        log = tmp_path / "data" / "whisper-desktop.log"
        deadline = time.monotonic() + 10
        while "another launch asked: show" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        t0 = time.monotonic()
        first.send_signal(signal.SIGTERM)
        assert first.wait(10) == 0
        assert time.monotonic() - t0 < 5
        assert json.loads(state.read_text())["final"] is True
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_many_events_reach_overlay_and_history(qtbot, make_app) -> None:
    app = make_app()
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    app.actions.mic.trigger()
    app.actions.system.trigger()

    def flood() -> None:
        for i in range(20000):
            final = i % 50 == 49
            event = TranscriptEvent("phone-2", f" x{i}", i * 0.01, i * 0.01, final)
            app.host.worker.post_event(event)  # what an engine thread does

    t = threading.Thread(target=flood)
    t.start()
    while t.is_alive():
        qtbot.wait(20)
    qtbot.waitUntil(lambda: "x19999" in words_of(app, "phone-2"), timeout=10000)
    assert len(app.store.utterances(client_id="phone-2")) == 400


def test_qt_reference_bug_is_contained(tmp_path: Path) -> None:
    """PySide6 6.12.0 on CPython 3.11 loses a reference to None per void call and to True per
    emit (see whisper_desktop.qt_compat). A long-running app must survive millions of them and
    still exit normally."""
    code = (
        "import sys\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "from PySide6.QtWidgets import QApplication, QWidget\n"
        "from whisper_desktop.qt_compat import binding_drops_references, protect_singletons\n"
        "buggy = binding_drops_references()\n"
        "applied = protect_singletons()\n"
        "app = QApplication([])\n"
        "class A(QObject):\n"
        "    s = Signal(object)\n"
        "a = A(); a.s.connect(lambda x: None); w = QWidget()\n"
        "for i in range(300000):\n"
        "    w.update(); a.s.emit(i)\n"
        "print('buggy', buggy, 'applied', applied)\n"
        "sys.exit(0)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=_clean_env(QT_QPA_PLATFORM="offscreen"),
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    buggy, applied = r.stdout.split()[1], r.stdout.split()[3]
    assert applied == buggy or (buggy == "True" and sys.version_info >= (3, 12))
