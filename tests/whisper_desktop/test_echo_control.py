"""The desktop's echo handling: the microphone's audio goes through the canceller with the
system audio as reference, and the You row never repeats what the System row just showed."""

from __future__ import annotations

import numpy as np
import pytest

from server_core.audio.echo import EchoUnavailable
from server_core.events import TranscriptEvent
from whisper_desktop.capture import EchoControl


def ev(client: str, text: str, final: bool = False) -> TranscriptEvent:
    return TranscriptEvent(client, text, 0.0, 1.0, final)


def test_the_you_row_does_not_repeat_the_system_row(qtbot, make_app) -> None:
    app = make_app(echo=True)
    assert app.echo.enabled
    app._transcript(ev("system", " In the old print each figure has its definite individuality."))
    for chunk, final in ((" In the old print", False), (" each figure has", True)):
        app._transcript(ev("user", chunk, final))
    app._transcript(ev("user", " Ask not what your country can do.", True))
    shown = app.overlay.snapshot()
    assert "individuality" in shown["system"]["text"]
    assert shown["user"]["text"].strip() == "Ask not what your country can do."
    assert app.state()["echo"]["guard_dropped_words"] == 7


def test_the_final_text_of_an_echo_is_not_shown_either(qtbot, make_app) -> None:
    from server_core.events import UtteranceEvent

    app = make_app(echo=True)
    app._transcript(ev("system", " In the old print each figure has its definite individuality."))
    app._transcript(TranscriptEvent("user", " In the old print each figure.", 3.0, 5.0, True))
    app._transcript(TranscriptEvent("user", " Ask not what your country.", 7.0, 9.0, True))
    app._utterance(UtteranceEvent("user", " In the old print, each figure.", 3.0, 5.0))
    app._utterance(UtteranceEvent("user", " Ask not what your country can do.", 7.0, 9.0))
    assert app.overlay.snapshot()["user"]["text"].strip() == "Ask not what your country can do."


def test_with_echo_cancellation_off_everything_shows(qtbot, make_app) -> None:
    app = make_app(echo=False)
    app._transcript(ev("system", " In the old print each figure."))
    app._transcript(ev("user", " In the old print each figure.", True))
    assert "print each figure" in app.overlay.snapshot()["user"]["text"]


def test_the_canceller_sits_between_the_captures_and_the_engine() -> None:
    got: list[np.ndarray] = []
    made = []

    class Recorder:
        def __init__(self, sink) -> None:
            self.sink, self.far_chunks = sink, []
            self.stats = type("S", (), {"as_dict": lambda self: {"near_seconds": 1.0}})()
            made.append(self)

        def near(self, chunk) -> None:
            self.sink(chunk * 0)  # "cancelled"

        def far(self, chunk) -> None:
            self.far_chunks.append(chunk)

        def close(self, timeout: float) -> None:
            pass

    echo = EchoControl(True, canceller_factory=Recorder)
    system_fed: list[np.ndarray] = []
    mic = echo.mic_sink(got.append)
    system = echo.system_sink(system_fed.append)
    block = np.ones(160, np.float32)
    system(block)
    mic(block)
    assert len(system_fed) == 1 and len(made[0].far_chunks) == 1  # both: engine and reference
    assert got[0].max() == 0.0  # the microphone went through the canceller
    echo.mic_stopped()
    system(block)  # no canceller any more: the system audio still reaches its session
    assert len(system_fed) == 2 and len(made[0].far_chunks) == 1
    assert echo.stats()["canceller"] == {"near_seconds": 1.0}  # the last one's figures stay


def test_a_missing_canceller_leaves_the_microphone_as_it_was() -> None:
    def missing(sink):
        raise EchoUnavailable("echo cancellation needs the livekit package")

    echo = EchoControl(True, canceller_factory=missing)
    got: list[np.ndarray] = []
    sink = echo.mic_sink(got.append)
    sink(np.ones(10, np.float32))
    assert len(got) == 1 and "livekit" in echo.problem and not echo.cancelling


@pytest.mark.parametrize("enabled", [True, False])
def test_the_real_canceller_is_used_when_on(enabled: bool) -> None:
    pytest.importorskip("livekit.rtc")
    echo = EchoControl(enabled)

    def feeder(chunk) -> None:
        pass

    sink = echo.mic_sink(feeder)
    assert echo.cancelling is enabled
    assert (sink is feeder) is not enabled
    echo.mic_stopped()
