"""Silero VAD (pip `silero-vad`, model shipped in the package), one gate per session.

Importing `silero_vad` sets torch to one thread for the whole process; `import_silero`
restores the thread count the caller had.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from server_core.config import SAMPLE_RATE, VadOptions

WINDOW = 512  # samples per Silero window at 16 kHz

_import_lock = threading.Lock()


def import_silero():
    with _import_lock:
        threads = torch.get_num_threads()
        import silero_vad

        torch.set_num_threads(threads)
        return silero_vad


def load_vad_model():
    silero_vad = import_silero()
    threads = torch.get_num_threads()
    model = silero_vad.load_silero_vad()
    torch.set_num_threads(threads)
    return model


@dataclass(frozen=True)
class VadEvent:
    kind: str  # "start" | "end"
    sample: int  # stream position (samples since the session began)


class SpeechGate:
    """Feeds audio through Silero in 512-sample windows and reports speech starts and ends."""

    def __init__(self, options: VadOptions):
        silero_vad = import_silero()
        self._iterator = silero_vad.VADIterator(
            load_vad_model(),
            threshold=options.threshold,
            sampling_rate=SAMPLE_RATE,
            min_silence_duration_ms=options.min_silence_ms,
            speech_pad_ms=options.speech_pad_ms,
        )
        self._rest = np.zeros(0, dtype=np.float32)
        self.position = 0  # samples consumed by complete windows
        self.in_speech = False

    def feed(self, audio: np.ndarray) -> list[VadEvent]:
        data = np.concatenate([self._rest, audio]) if self._rest.size else audio
        n_windows = data.shape[0] // WINDOW
        events: list[VadEvent] = []
        with torch.inference_mode():
            for i in range(n_windows):
                window = torch.from_numpy(np.ascontiguousarray(data[i * WINDOW : (i + 1) * WINDOW]))
                result = self._iterator(window)
                if result:
                    kind = "start" if "start" in result else "end"
                    events.append(VadEvent(kind, int(result[kind])))
                    self.in_speech = kind == "start"
        self.position += n_windows * WINDOW
        self._rest = data[n_windows * WINDOW :].copy()
        return events

    @property
    def buffered(self) -> int:
        """Samples waiting for a complete window."""
        return int(self._rest.shape[0])
