"""The desktop's captures: :class:`server_core.audio.sources.Capture` behind Qt signals.

The sources themselves (microphone, loopback) and the supervision live in server_core, without
Qt, so the example client uses the same code. Sources are injected, so tests can replay audio.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from server_core.audio.sources import AudioSource, Capture, CaptureState, Sink


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
