"""SIGINT/SIGTERM for the headless entry points (``--server-only``, ``cluster``)."""

from __future__ import annotations

import os
import signal
import sys
import threading


class Shutdown:
    """Turns SIGINT/SIGTERM into an event; a second signal exits at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        if self.event.is_set():
            line = "whisper-desktop: error: second signal: exiting without flushing"
            print(line, file=sys.stderr, flush=True)
            os._exit(130)
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def wait(self) -> None:
        while not self.event.wait(0.5):
            pass
