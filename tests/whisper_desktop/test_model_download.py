"""Downloading a model with a progress dialog that can be cancelled: a real HTTP download
from a local server that sends slowly, so Cancel lands mid-way."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QPushButton

from server_core.models.resolve import ResolvedModel
from whisper_desktop.model_download import DownloadThread
from whisper_desktop.widgets.download_dialog import DownloadDialog

SIZE = 6 * 2**20
PAYLOAD = bytes(range(256)) * (SIZE // 256)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /<sha256>/model.pt, 128 KiB every 20 ms (about 6 MiB/s)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != f"/{SHA}/model.pt":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        step = 128 * 1024
        try:
            for i in range(0, len(PAYLOAD), step):
                self.wfile.write(PAYLOAD[i : i + step])
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{SHA}/model.pt"
    httpd.shutdown()
    httpd.server_close()


class OnGuiThread(QObject):
    """Runs ``callback`` for each progress signal on the GUI thread, as the dialog's own slot
    is (a plain lambda would run on the download's thread)."""

    def __init__(self, callback) -> None:
        super().__init__()
        self.callback = callback

    @Slot(int, int)
    def progress(self, done: int, total: int) -> None:
        self.callback(done, total)


def download_dialog(model: ResolvedModel) -> DownloadDialog:
    return DownloadDialog(DownloadThread(model), model.name)


def model_at(url: str, folder: Path) -> ResolvedModel:
    return ResolvedModel("official", folder / "tiny.pt", "tiny", "test", url=url)


def test_the_dialog_shows_progress_and_the_model_lands_in_place(qtbot, server, tmp_path) -> None:
    dialog = download_dialog(model_at(server, tmp_path))
    qtbot.addWidget(dialog)
    values: list[int] = []
    watcher = OnGuiThread(lambda done, total: values.append(dialog.value()))
    dialog.download.worker.progress.connect(watcher.progress)
    assert dialog.run() == "finished"
    assert (tmp_path / "tiny.pt").read_bytes() == PAYLOAD
    assert values[-1] == 1000 and values == sorted(values) and len(values) >= 3
    assert "6.0 of 6.0 MiB" in dialog.labelText()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.pt"]


def test_cancel_stops_the_download_and_removes_the_partial_file(qtbot, server, tmp_path) -> None:
    dialog = download_dialog(model_at(server, tmp_path))
    qtbot.addWidget(dialog)
    seen: list[int] = []

    def cancel_after_first_chunk(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 1:
            assert list(tmp_path.glob("*.part"))  # a partial file exists while it downloads
            button = dialog.findChild(QPushButton)  # Cancel
            QTimer.singleShot(0, lambda: button.click())

    watcher = OnGuiThread(cancel_after_first_chunk)
    dialog.download.worker.progress.connect(watcher.progress)
    t0 = time.monotonic()
    assert dialog.run() == "cancelled"
    assert time.monotonic() - t0 < 5
    assert seen and seen[-1] < SIZE
    assert list(tmp_path.iterdir()) == []  # neither the model nor a partial file
    assert dialog.download.wait(2000)


def test_a_bad_checksum_fails_with_one_line_and_leaves_nothing(qtbot, server, tmp_path) -> None:
    wrong = server.replace(SHA, "0" * 64)
    dialog = download_dialog(model_at(wrong, tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.run() == "failed"
    assert "HTTP 404" in dialog.error and "\n" not in dialog.error
    assert list(tmp_path.iterdir()) == []


def _settle(dialog_of, click_cancel: bool):
    """Cancel the app's download dialog as soon as it shows (or let it run)."""

    def look() -> None:
        dialog = dialog_of()
        if dialog is not None and dialog.isVisible():
            if click_cancel:
                dialog.findChild(QPushButton).click()
        else:
            QTimer.singleShot(20, look)

    QTimer.singleShot(0, look)


def test_choosing_a_model_not_here_downloads_it_first(qtbot, make_app, server, tmp_path) -> None:
    app = make_app(model_lister=lambda: {})
    app.model_resolver = lambda name: model_at(server, tmp_path / "cache")
    app.start()
    qtbot.waitUntil(lambda: app.host.state == "ready", timeout=5000)
    app.show_settings()
    d = app.settings_dialog
    d.model.setCurrentIndex(d.model.findData("tiny"))

    _settle(lambda: app.download_dialog, click_cancel=True)
    d.apply()
    assert app.settings.model == "tiny.en" and d.isVisible()  # cancelled: nothing applied
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())

    d.accept()  # this time it downloads, then switches
    assert (tmp_path / "cache" / "tiny.pt").read_bytes() == PAYLOAD
    assert app.settings.model == "tiny" and not d.isVisible()
    qtbot.waitUntil(lambda: [m for m, _ in app.engines[0].reconfigured] == ["tiny"], timeout=5000)
