"""From a stream of audio to utterances: Silero VAD (pip `silero-vad`, its model shipped in
the package), one gate per session, and the window of speech it fills.

Importing `silero_vad` sets torch to one thread for the whole process; `import_silero`
restores the thread count the caller had.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from server_core.config import SAMPLE_RATE, VadOptions
from server_core.engine.window import Window

WINDOW = 512  # samples per Silero window at 16 kHz
PREROLL_SAMPLES = int(1.5 * SAMPLE_RATE)
RESET_GAP = 2 * SAMPLE_RATE  # longer silence ends the left context

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


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Silero's many tiny per-window ops run on one thread: spread over the pool, each one
    waits for the other workers to wake, and on a busy machine for the OS to run them."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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


class Segmenter:
    """Runs the VAD over a session's stream and keeps the speech window filled.

    Speech opens a window (with up to 1.5 s of pre-roll); silences shorter than ``RESET_GAP``
    stay in it; a VAD end closes an utterance (``closed_ends``); a longer silence with nothing
    left to decode hands the window back through ``on_reset`` and drops it.
    """

    def __init__(
        self,
        vad: VadOptions,
        on_open: Callable[[int], None],
        on_reset: Callable[[Window], None],
    ) -> None:
        self.gate = SpeechGate(vad)
        self._on_open = on_open
        self._on_reset = on_reset
        self.ingested = 0
        self._tail = np.zeros(0, dtype=np.float32)  # recent audio for the pre-roll
        self._tail_start = 0
        self.window: Window | None = None
        self.closed_ends: deque[int] = deque()  # stream samples where utterances closed
        self.speech_new = 0  # speech samples not yet seen by the decoder
        self._silence_since: int | None = None  # stream sample where speech last ended
        self.pending_since: float | None = None  # when undecoded speech began to wait

    @property
    def in_speech(self) -> bool:
        return self.gate.in_speech

    @property
    def position(self) -> int:
        return self.gate.position

    def has_work(self) -> bool:
        return bool(self.closed_ends) or self.speech_new > 0

    def mark_pending(self) -> None:
        if self.pending_since is None:
            self.pending_since = time.monotonic()

    def feed(self, chunk: np.ndarray) -> None:
        self._tail = np.concatenate([self._tail, chunk])
        self.ingested += int(chunk.shape[0])
        for event in self.gate.feed(chunk):
            if event.kind == "start":
                self._speech_started(event.sample)
            else:
                self._speech_ended(event.sample)
        if self.gate.in_speech and self.window is None:  # speech goes on after a reset
            self._open(max(self._tail_start, self.ingested - chunk.shape[0]))
        win = self.window
        if win is not None:
            gap = self.ingested - (self._silence_since or self.ingested)
            if self.gate.in_speech or self.has_work() or gap <= RESET_GAP:
                self._grow(win, self.ingested, speech=self.gate.in_speech)
            else:
                self.reset()
        keep = min(self._tail.shape[0], PREROLL_SAMPLES)
        self._tail_start = self.ingested - keep
        self._tail = self._tail[self._tail.shape[0] - keep :].copy()

    def _speech_started(self, sample: int) -> None:
        win = self.window
        if win is not None and win.end < self._tail_start and not self.has_work():
            self.reset()
        if self.window is None:
            self._open(max(sample, self._tail_start))
        self._silence_since = None

    def _speech_ended(self, sample: int) -> None:
        win = self.window
        if win is None:
            return
        end = max(
            sample, win.start + win.final_end, self.closed_ends[-1] if self.closed_ends else 0
        )
        if end > win.end:
            self._grow(win, end, speech=True)
        if not self.closed_ends or self.closed_ends[-1] < end:
            self.closed_ends.append(end)
        self._silence_since = end
        self.mark_pending()

    def _open(self, start: int) -> None:
        self.window = Window(start=start, audio=np.zeros(0, dtype=np.float32))
        self._on_open(start)

    def _grow(self, win: Window, upto: int, speech: bool) -> None:
        have = win.end
        if upto <= have:
            return
        lo = max(have, self._tail_start) - self._tail_start
        hi = upto - self._tail_start
        piece = self._tail[lo:hi]
        win.append(piece)
        if speech:
            self.speech_new += int(piece.shape[0])
            self.mark_pending()

    def reset(self) -> None:
        """Silence went on: the window's text becomes context (``on_reset``), its audio goes."""
        win = self.window
        if win is not None:
            self._on_reset(win)
        self.window = None
        self.speech_new = 0

    def close_utterance(self) -> None:
        """Close the utterance in progress where the audio received so far ends."""
        win = self.window
        if win is None:
            return
        if not self.closed_ends or self.closed_ends[-1] < win.end:
            pending = self.speech_new > 0 or win.state.hypothesis or self.gate.in_speech
            if pending and win.audio.shape[0] > win.final_end:
                self.closed_ends.append(win.end)
                self.mark_pending()
                return
        self.speech_new = 0  # nothing left that a final decode would see

    def forget(self) -> None:
        """Drop the window and every pending utterance (a model switch, a failed step)."""
        self.window = None
        self.closed_ends.clear()
        self.speech_new = 0

    def ready(self, min_samples: int, max_samples: int) -> bool:
        win = self.window
        if win is None:
            return False
        if self.closed_ends or self.speech_new >= min_samples:
            return True
        return self.speech_new > 0 and win.audio.shape[0] >= max_samples
