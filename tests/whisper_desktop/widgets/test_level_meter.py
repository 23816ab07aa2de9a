"""Level meters: a level signal moves its source's bar, on a dB scale."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Signal

from whisper_desktop.host import HostState
from whisper_desktop.widgets.level_meter import LevelMeters, level_percent


class Levels(QObject):
    level = Signal(str, float)


def test_level_scale() -> None:
    assert level_percent(0.0) == 0 and level_percent(float("nan")) == 0
    assert level_percent(0.001) == 0  # -60 dBFS
    assert level_percent(1.0) == 100 and level_percent(3.0) == 100
    assert level_percent(10 ** (-30 / 20)) == 50  # -30 dBFS


def test_emitting_a_level_updates_that_sources_meter(qtbot) -> None:
    meters = LevelMeters({"user": "Microphone", "system": "System audio"})
    qtbot.addWidget(meters)
    source = Levels()
    source.level.connect(meters.set_level)
    source.level.emit("user", 0.1)  # -20 dBFS
    assert meters.value("user") == 67 and meters.value("system") == 0
    source.level.emit("system", 1.0)
    assert meters.value("system") == 100 and meters.value("user") == 67
    source.level.emit("phone-1", 0.01)  # a source not listed gets a bar of its own
    assert meters.value("phone-1") == 33


class ToneSource:
    """A steady 440 Hz tone at -12 dBFS RMS, at real-time pace."""

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return self.name

    def run(self, sink, stop: threading.Event) -> None:
        t = np.arange(800) / 16000
        block = (10 ** (-12 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        while not stop.wait(0.05):
            sink(block)


def test_the_main_windows_meters_follow_the_captures(qtbot, make_app) -> None:
    app = make_app(tray=False, source=ToneSource)
    app.start()
    meters = app.main_window.levels
    assert set(meters.bars) == {"user", "system"}
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    qtbot.waitUntil(
        lambda: meters.value("user") == 80 and meters.value("system") == 80,
        timeout=5000,
    )
    app.actions.mic.trigger()  # the microphone off: its meter drops to zero and stays there
    assert meters.value("user") == 0
    qtbot.wait(600)
    assert meters.value("user") == 0 and meters.value("system") == 80
