"""Downloading an official model ahead of its use, on a thread of its own, cancellable.

The download itself is server_core's (SHA-256 checked, into openai-whisper's cache); this worker
only runs it off the GUI thread and reports through signals. server_core.models is imported only
when a download runs: it loads openai-whisper and torch.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal, Slot

from server_core.errors import ModelError

if TYPE_CHECKING:
    from server_core.models.resolve import ResolvedModel

log = logging.getLogger(__name__)


class DownloadWorker(QObject):
    """Downloads one checkpoint; lives on its own QThread; talks only through signals."""

    progress = Signal(int, int)  # bytes done, total (0: unknown)
    message = Signal(str)  # progress lines for people
    finished = Signal()  # the checkpoint is in place
    failed = Signal(str)  # one line
    cancelled = Signal()  # stopped; the partial file is removed

    def __init__(self, model: ResolvedModel) -> None:
        super().__init__()
        self.model = model
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Any thread: stop after the chunk in flight."""
        self._stop.set()

    @Slot()
    def run(self) -> None:
        from server_core.models.download import DownloadCancelled, download
        from server_core.models.progress import Reporter

        try:
            download(
                self.model,
                Reporter(self.message.emit),
                on_bytes=self.progress.emit,
                cancelled=self._stop.is_set,
            )
        except DownloadCancelled:
            self.cancelled.emit()
        except ModelError as exc:
            log.warning("%s", exc)
            self.failed.emit(str(exc))
        else:
            self.finished.emit()


class DownloadThread(QObject):
    """Owns a :class:`DownloadWorker` and its thread; ``done`` says how it ended."""

    done = Signal(str)  # "finished", "cancelled" or "failed"

    def __init__(self, model: ResolvedModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.error = ""
        self.worker = DownloadWorker(model)
        self._thread = QThread()
        self._thread.setObjectName(f"download-{model.name}")
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.run)
        # bound slots of this GUI-thread object: queued from the worker's thread
        self.worker.finished.connect(self._finished)
        self.worker.cancelled.connect(self._cancelled)
        self.worker.failed.connect(self._failed)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def wait(self, ms: int = 5000) -> bool:
        return self._thread.wait(ms)

    @Slot()
    def _finished(self) -> None:
        self._end("finished")

    @Slot()
    def _cancelled(self) -> None:
        self._end("cancelled")

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.error = message
        self._end("failed")

    def _end(self, how: str) -> None:
        self._thread.quit()
        self._thread.wait(2000)
        self.done.emit(how)
