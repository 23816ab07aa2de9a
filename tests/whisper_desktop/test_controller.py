"""The app's wiring (offscreen): tray menu actions, fallback window, remote clients, devices.

These drive the one fake engine (tests/support/fake_engine.py) so that they run in seconds; the
real engine, real audio devices and a real display are exercised by ``test_desktop_e2e.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from server_core.events import TranscriptEvent, UtteranceEvent
from tests.support.desktop_app import SR, BrokenSource, desktop_engine
from tests.support.fake_server import FINGERPRINT, FakeServer
from whisper_desktop.host import HostState
from whisper_desktop.settings import load_settings, open_qsettings
from whisper_desktop.widgets.tray import TrayState


def words_of(app, cid: str) -> str:
    return app.overlay.snapshot().get(cid, {}).get("text", "")


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
    assert d.url.text() == f"https://192.0.2.7:9555/?token={app.settings.token}"
    assert d.qr_text().startswith("https://") and d.fingerprint.text() == FINGERPRINT
    assert not d.qr.pixmap().isNull()
    assert FakeServer.started[-1].config.host == "0.0.0.0"
    assert FakeServer.started[-1].config.tls_dir == str(tmp_path / "tls")  # --data-dir's
    assert FakeServer.started[0].stopped
    assert load_settings(open_qsettings(tmp_path)).lan_enabled is True

    # Settings…: language and overlay font change live
    a.settings.trigger()
    sd = app.settings_dialog
    assert sd.isVisible()
    sd.model.setCurrentText("base")
    sd.language.setCurrentText("de")
    sd.font_size.setValue(31)
    sd.clear_seconds.setValue(5.0)
    sd.accept()
    qtbot.waitUntil(lambda: app.engines[0].reconfigured == [("base", "de")], timeout=5000)
    qtbot.waitUntil(lambda: app.status_info().model == "base", timeout=5000)
    assert app.overlay.style_options.font_size == 31
    assert app.overlay.style_options.clear_seconds == 5.0
    stored = load_settings(open_qsettings(tmp_path))
    assert (stored.model, stored.language, stored.overlay_font_size) == ("base", "de", 31)
    assert stored.port == 9000  # the --port override is not saved

    # Quit: flushes, records, closes everything
    t0 = time.monotonic()
    a.quit.trigger()
    qtbot.waitUntil(lambda: app.finished, timeout=5000)
    assert time.monotonic() - t0 < 5 and app.quits == [1]
    assert app.engines[0].stopped and FakeServer.started[-1].stopped


def test_the_device_is_shown_and_a_new_one_saved_for_the_next_start(
    qtbot, make_app, tmp_path: Path
) -> None:
    configs = []

    def factory(config, progress):
        configs.append(config)
        return desktop_engine(config, progress)

    app = make_app(engine_factory=factory, device="cpu")  # as `--device cpu`
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    assert [c.device for c in configs] == ["cpu"]
    assert app.status_info().device == "cpu, float32"
    assert "Device: cpu, float32" in app.tray.icon.toolTip()
    app.apply_settings(app.settings.replace(device="cuda"))
    assert load_settings(open_qsettings(tmp_path)).device == "cuda"
    assert len(configs) == 1 and app.host.state == HostState.READY  # the engine runs on


def test_remote_clients_are_counted_recorded_and_coloured(qtbot, make_app) -> None:
    app = make_app()
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    server = FakeServer.started[-1]
    got: list = []
    session = server.engine.open_session("phone-1", got.append, meta={"peer": "192.0.2.9"})
    session.push(np.zeros(SR, np.float32))
    # the WS listener still gets every event (from the engine's thread)
    qtbot.waitUntil(lambda: [e.text for e in got] == [" w1", " w2"], timeout=3000)
    qtbot.waitUntil(lambda: words_of(app, "phone-1") == "w1 w2", timeout=3000)
    qtbot.waitUntil(lambda: "Remote clients: 1" in app.tray.icon.toolTip(), timeout=3000)
    assert app.overlay.snapshot()["phone-1"]["label"] == "Phone 1"
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
        "Caption scrollback…", "Connect a device…", "Settings…", "Quit",
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


def test_a_device_that_stays_missing_is_reported_once(qtbot, make_app, caplog) -> None:
    """Issue 23: the capture retries every 2 s; the log and the tray say it once, not each time."""
    app = make_app(source=BrokenSource)
    caplog.set_level(logging.DEBUG)
    app.start()
    qtbot.waitUntil(lambda: "user" in app.captures, timeout=8000)
    retries: list[str] = []
    app.captures["user"].state_changed.connect(
        lambda cid, state, detail: retries.append(detail) if state == "retrying" else None
    )
    qtbot.waitUntil(lambda: len(retries) >= 2, timeout=10000)  # two more retries, same problem
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    shown = [w for w in warnings if w.startswith("Microphone unavailable")]
    logged = [w for w in warnings if w.startswith("user capture: user-device is not connected")]
    assert len(shown) == 1 and len(logged) == 1, warnings
    assert [
        r for r in caplog.records if r.levelno == logging.DEBUG and "user capture" in r.getMessage()
    ]


def test_engine_failure_is_an_error_state(qtbot, make_app) -> None:
    def broken(config, progress):
        raise RuntimeError("model 'nope': not found\nmore")

    app = make_app(engine_factory=broken)
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.ERROR, timeout=5000)
    info = app.status_info()
    assert info.state == TrayState.ERROR and info.detail == "model 'nope': not found"


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


def test_overlay_menu_and_idle_text_reach_the_app(qtbot, make_app) -> None:
    app = make_app()
    app.start()
    assert app.overlay.idle_text() == "Loading the model…"
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    app.actions.mic.trigger()
    app.actions.system.trigger()
    qtbot.waitUntil(lambda: app.overlay.idle_text() == "Captions paused", timeout=3000)
    app.actions.mic.trigger()
    qtbot.waitUntil(lambda: app.overlay.idle_text() == "Listening…", timeout=3000)
    menu = {a.text(): a for a in app.overlay.build_menu().actions()}
    menu["History…"].trigger()
    assert app.history_window is not None and app.history_window.isVisible()
    menu["Settings…"].trigger()
    assert app.settings_dialog is not None and app.settings_dialog.isVisible()
    assert app.overlay.isVisible()
    menu["Hide captions"].trigger()
    assert not app.overlay.isVisible() and not app.actions.captions.isChecked()
    assert load_settings(open_qsettings(app.data_dir)).show_captions is False
    menu["Quit"].trigger()
    qtbot.waitUntil(lambda: app.finished, timeout=6000)


def test_history_can_be_turned_off(qtbot, make_app, tmp_path: Path) -> None:
    app = make_app()
    app.start()
    qtbot.waitUntil(lambda: bool(app.store.utterances(client_id="user")), timeout=5000)
    app.apply_settings(app.settings.replace(history_enabled=False))
    assert load_settings(open_qsettings(tmp_path)).history_enabled is False
    saved = [(u.id, u.text) for u in app.store.utterances()]
    shown = words_of(app, "user")
    qtbot.waitUntil(lambda: words_of(app, "user") != shown, timeout=3000)  # captions go on
    qtbot.wait(1000)  # the fake engine says a word every 0.5 s
    assert [(u.id, u.text) for u in app.store.utterances()] == saved
    assert all(s.ended_at is not None for s in app.store.sessions())
    app.apply_settings(app.settings.replace(history_enabled=True))
    qtbot.waitUntil(lambda: len(app.store.utterances()) > len(saved), timeout=5000)


def test_final_text_replaces_the_line_in_overlay_and_history(qtbot, make_app) -> None:
    app = make_app()
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    app.actions.mic.trigger()
    app.actions.system.trigger()
    post = app.host.worker.post_event  # what an engine thread does
    post(TranscriptEvent("phone-3", " two hundred", 3.0, 3.6, False))
    post(TranscriptEvent("phone-3", " 89 limit.", 3.6, 4.4, True))
    post(TranscriptEvent("phone-3", " Next words", 5.0, 5.5, False))
    qtbot.waitUntil(lambda: "Next words" in words_of(app, "phone-3"), timeout=5000)
    post(UtteranceEvent("phone-3", "289 limits.", 3.0, 4.4))
    qtbot.waitUntil(lambda: words_of(app, "phone-3").startswith("289 limits."), timeout=5000)
    assert words_of(app, "phone-3") == "289 limits. Next words"
    (line, _) = app.store.utterances(client_id="phone-3")
    assert (line.text, line.live_text) == ("289 limits.", "two hundred 89 limit.")
