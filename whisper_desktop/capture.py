"""The desktop's captures: :class:`server_core.audio.sources.Capture` behind Qt signals, and the
echo handling between them.

The sources themselves (microphone, loopback) and the supervision live in server_core, without
Qt, so the example client uses the same code. Sources are injected, so tests can replay audio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from server_core.audio.echo import EchoCanceller, EchoUnavailable
from server_core.audio.echo_guard import EchoGuard
from server_core.audio.sources import AudioSource, Capture, CaptureState, Sink
from server_core.events import TranscriptEvent, UtteranceEvent

log = logging.getLogger(__name__)

USER = "user"  # the microphone's client id
SYSTEM = "system"  # the system audio's
REVISION_SLACK = 0.05  # seconds: a final text names its utterance by the first event's start
SOUND_RMS = 0.003  # about -50 dBFS: the system audio is playing something


class CaptureWorker(QObject):
    """Runs one source on background threads; reports only through signals."""

    state_changed = Signal(str, str, str)  # client_id, CaptureState value, detail for people
    level = Signal(str, float)  # client_id, RMS of the last blocks (about 5 per second)

    def __init__(
        self,
        client_id: str,
        source: AudioSource,
        sink: Sink,
        retry_seconds: float = 2.0,
        stall_seconds: float = 5.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.client_id = client_id
        self.source = source
        self._capture = Capture(
            source,
            sink,
            on_state=lambda state, detail: self.state_changed.emit(client_id, state.value, detail),
            on_level=lambda rms: self.level.emit(client_id, rms),
            retry_seconds=retry_seconds,
            stall_seconds=stall_seconds,
            name=client_id,
        )

    @property
    def state(self) -> CaptureState:
        return self._capture.state

    def start(self) -> None:
        self._capture.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._capture.stop(timeout)

    def is_running(self) -> bool:
        return self._capture.is_running()


class EchoControl:
    """Echo between the desktop's two captures: the microphone hears the speakers.

    On the audio, the system capture's blocks are the far-end reference of an
    :class:`EchoCanceller` that cleans the microphone before the engine hears it; on the text,
    an :class:`EchoGuard` keeps microphone utterances that repeat the system audio's words off
    the "You" row. No Qt here: the controller asks for sinks and passes transcripts through.
    """

    def __init__(
        self,
        enabled: bool,
        canceller_factory: Callable[[Sink], EchoCanceller] = EchoCanceller,
    ) -> None:
        self.enabled = enabled
        self._factory = canceller_factory
        self._canceller: EchoCanceller | None = None
        self.guard: EchoGuard[TranscriptEvent] = EchoGuard()
        self.problem = ""  # why the canceller is not running, for people
        self._last_stats: dict[str, float] | None = None  # of the canceller that ran last

    @property
    def cancelling(self) -> bool:
        return self._canceller is not None

    def mic_sink(self, feeder: Sink) -> Sink:
        """Where the microphone's audio goes: through a new canceller, or straight on."""
        self.mic_stopped()
        if not self.enabled:
            return feeder
        try:
            self._canceller = self._factory(feeder)
        except EchoUnavailable as exc:
            self.problem = str(exc)
            log.warning("no echo cancellation: %s", exc)
            return feeder
        self.problem = ""
        return self._canceller.near

    def system_sink(self, feeder: Sink) -> Sink:
        """The system audio goes to its session and, as the reference, to the canceller."""

        def tee(chunk: np.ndarray) -> None:
            feeder(chunk)
            canceller = self._canceller  # swapped on the GUI thread; one read here
            if canceller is not None:
                canceller.far(chunk)

        return tee

    def mic_stopped(self) -> None:
        canceller, self._canceller = self._canceller, None
        if canceller is not None:
            canceller.close(timeout=0.5)
            self._last_stats = canceller.stats.as_dict()

    def transcript(self, ev: TranscriptEvent, now: float) -> list[TranscriptEvent]:
        """The events to show for ``ev``: the guard's verdict on the microphone's words."""
        if not self.enabled:
            return [ev]
        if ev.client_id == SYSTEM:
            return [ev, *self.guard.system(ev.text, now)]
        if ev.client_id == USER:
            return self.guard.user(ev, ev.text, ev.final, now)
        return [ev]

    def keeps_revision(self, ev: UtteranceEvent) -> bool:
        """Whether the final pass's text of a microphone utterance may replace its live text:
        not when the guard found that utterance to be the system audio's echo."""
        if not self.enabled or ev.client_id != USER:
            return True
        echo = any(
            d.start < ev.end and d.end > ev.start and d.start >= ev.start - REVISION_SLACK
            for d in self.guard.dropped
        )
        if echo:
            log.debug("echo guard: the final text of an echo is not the user's: %r", ev.text)
        return not echo

    def tick(self, now: float) -> list[TranscriptEvent]:
        return self.guard.tick(now) if self.enabled else []

    def level(self, client_id: str, rms: float, now: float) -> None:
        """A capture's level: the system audio playing means its words may follow."""
        if client_id == SYSTEM and rms >= SOUND_RMS:
            self.guard.system_sound(now)

    def stats(self) -> dict[str, object]:
        canceller = self._canceller
        return {
            "enabled": self.enabled,
            "cancelling": canceller is not None,
            "problem": self.problem,
            "canceller": canceller.stats.as_dict() if canceller is not None else self._last_stats,
            "guard_dropped_words": self.guard.dropped_words,
        }
