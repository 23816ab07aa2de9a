"""The desktop app as the controller tests build it: a fake engine and server, scripted sources,
no tray host. ``make_app`` is a fixture (tests/whisper_desktop/conftest.py offers it)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.support.fake_engine import FakeEngine
from tests.support.fake_server import FakeServer
from whisper_desktop.host import EngineHost
from whisper_desktop.settings import Key, Overrides, open_qsettings

SR = 16000


def desktop_engine(config, progress) -> FakeEngine:
    """The fake engine as the desktop tests script it: a word every 0.5 s, " end." at the end."""
    return FakeEngine(
        config.model, config.language, word_seconds=0.5, final_text=" end.", progress=progress
    )


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
    engines: list[FakeEngine] = []
    FakeServer.started = []

    def factory(config, progress):
        engines.append(desktop_engine(config, progress))
        return engines[-1]

    def make(
        tray: bool = True,
        source=SteadySource,
        engine_factory=factory,
        model_lister=lambda: {"tiny.en": "test pack"},
        echo: bool = False,
        **overrides,
    ):
        host = EngineHost(
            engine_factory=engine_factory, server_factory=FakeServer, poll_seconds=0.2
        )
        qsettings = open_qsettings(tmp_path)
        if not qsettings.contains(Key.ECHO_CANCELLATION.value):
            # the fake engine says the same words on every source: the echo guard would drop
            # the microphone's, so only the tests of the echo handling turn it on
            qsettings.setValue(Key.ECHO_CANCELLATION.value, echo)
        app = DesktopApp(
            tmp_path,
            qsettings,
            Overrides(**{"model": "tiny.en", "port": 9555, **overrides}),
            host=host,
            source_factory=lambda cid, settings: source(f"{cid}-device"),
            tray_available=tray,
            device_listers=(lambda: ["Mic A"], lambda: ["Speakers"]),
            model_lister=model_lister,
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
            app.scrollback,
        ):
            if w is not None:
                w.close()
