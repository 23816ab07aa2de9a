"""A progress dialog for a model download, with Cancel; fed only by the worker's signals."""

from __future__ import annotations

from PySide6.QtCore import QEventLoop, Qt, QThread
from PySide6.QtWidgets import QProgressDialog, QWidget


class DownloadDialog(QProgressDialog):
    """``run()`` starts ``download`` (a ``model_download.DownloadThread``, made by the
    controller: widgets run no work of their own) and returns "finished", "cancelled" or
    "failed" (see ``error``)."""

    def __init__(self, download: QThread, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.setWindowTitle(self.tr("Downloading a model"))
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumDuration(0)
        self.setRange(0, 0)  # busy until the size is known
        self._name = name
        self.setLabelText(self.tr("Downloading %1…").replace("%1", name))
        self.outcome = ""
        self.error = ""
        self.download = download
        download.setParent(self)
        self.download.worker.progress.connect(self._progress)
        self.download.done.connect(self._done)
        self.canceled.connect(self._cancel)

    def run(self) -> str:
        self.download.start()
        self.exec()
        if not self.outcome:  # Cancel hides the dialog at once; the worker stops a chunk later
            loop = QEventLoop()
            self.download.done.connect(loop.quit)
            if not self.outcome:
                loop.exec()
        return self.outcome

    def _progress(self, done: int, total: int) -> None:
        mib = 2**20
        if total:
            self.setRange(0, 1000)
            self.setValue(min(1000, done * 1000 // total))
            text = self.tr("Downloading %1… %2 of %3 MiB")
            text = text.replace("%1", self._name).replace("%2", f"{done / mib:.1f}")
            self.setLabelText(text.replace("%3", f"{total / mib:.1f}"))
        else:
            text = self.tr("Downloading %1… %2 MiB")
            self.setLabelText(text.replace("%1", self._name).replace("%2", f"{done / mib:.1f}"))

    def _cancel(self) -> None:
        self.setLabelText(self.tr("Cancelling…"))
        self.download.cancel()  # the dialog closes when the worker says it stopped

    def _done(self, how: str) -> None:
        self.outcome = how
        self.error = self.download.error
        self.done(0 if how != "finished" else 1)

    def reject(self) -> None:  # Esc or the window's close button: cancel, and wait for it
        if not self.outcome:
            self._cancel()
        else:
            super().reject()
