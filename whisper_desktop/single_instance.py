"""One app per user and data folder: a second launch asks the first to show itself, then exits.

The first instance holds a lock file and listens on a local socket (QLocalServer). A later launch
cannot take the lock, so it connects to that socket, sends ``show`` and quits; the two never fight
over the server port or the audio devices. A lock left by a crashed instance is taken over.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QDir, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

SHOW = "show"
TOGGLE_CAPTIONS = "toggle-captions"  # `whisper-desktop --toggle-captions`, e.g. on a hotkey
TOGGLE_MIC = "toggle-mic"  # `whisper-desktop --toggle-mic`
COMMANDS = (SHOW, TOGGLE_CAPTIONS, TOGGLE_MIC)


def instance_key(data_dir: Path) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "user"
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:10]
    return f"whisper-desktop-{user}-{digest}"


class SingleInstance(QObject):
    message_received = Signal(str)

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self._lock = QLockFile(str(Path(QDir.tempPath()) / f"{key}.lock"))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """Become the running instance; False if another one already is."""
        if not self._lock.tryLock(200):
            return False
        QLocalServer.removeServer(self.key)  # a socket left by a crash
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.key):
            log.warning("single-instance socket: %s", server.errorString())
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def send(self, message: str = SHOW, timeout_ms: int = 3000) -> bool:
        """Tell the running instance ``message``; retries while it is still starting."""
        waited = 0
        while waited <= timeout_ms:
            sock = QLocalSocket()
            sock.connectToServer(self.key)
            if sock.waitForConnected(300):
                sock.write((message + "\n").encode())
                ok = sock.waitForBytesWritten(1000)
                sock.disconnectFromServer()
                return ok
            waited += 300
            sock.abort()
        return False

    def is_held(self) -> bool:
        """Whether a running instance holds the lock (without becoming one)."""
        if self._lock.isLocked():
            return True
        if self._lock.tryLock(0):
            self._lock.unlock()
            return False
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    def _on_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()

            def read(sock: QLocalSocket = sock) -> None:
                while sock.canReadLine():
                    msg = bytes(sock.readLine().data()).decode(errors="replace").strip()
                    if msg:
                        self.message_received.emit(msg)

            sock.readyRead.connect(read)
            sock.disconnected.connect(read)
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                read()
