""" "Connect a device…": the LAN address with its token, as text and as a QR code."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def qr_matrix(text: str) -> list[list[bool]]:
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_pixmap(text: str, size: int = 260) -> QPixmap:
    """The QR code of ``text``, black on white, drawn with Qt (no imaging library needed)."""
    matrix = qr_matrix(text)
    n = len(matrix)
    scale = max(1, size // n)
    img = QImage(n * scale, n * scale, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                p.fillRect(x * scale, y * scale, scale, scale, QColor("black"))
    p.end()
    return QPixmap.fromImage(img)


class ConnectDialog(QDialog):
    """Shows how another device reaches this app; offers to turn LAN access on."""

    enable_lan_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Connect a device"))
        self.intro = QLabel(wordWrap=True)
        self.url = QLineEdit(readOnly=True)
        self.token = QLineEdit(readOnly=True)
        self.ws_url = QLineEdit(readOnly=True)
        self.fingerprint = QLineEdit(readOnly=True, objectName="fingerprint")
        self.fingerprint_note = QLabel(wordWrap=True)
        self.qr = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, objectName="qrCode")
        self.qr.setMinimumSize(280, 280)
        copy = QPushButton(self.tr("Copy address"))
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.url.text()))
        self.enable_lan = QPushButton(self.tr("Allow devices on the local network"))
        self.enable_lan.clicked.connect(self.enable_lan_requested)
        row = QHBoxLayout()
        row.addWidget(self.url, 1)
        row.addWidget(copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(QLabel(self.tr("Open this address on the other device:")))
        layout.addLayout(row)
        layout.addWidget(QLabel(self.tr("Token:")))
        layout.addWidget(self.token)
        layout.addWidget(QLabel(self.tr("WebSocket endpoint (for your own clients):")))
        layout.addWidget(self.ws_url)
        layout.addWidget(QLabel(self.tr("Certificate fingerprint (SHA-256):")))
        layout.addWidget(self.fingerprint)
        layout.addWidget(self.fingerprint_note)
        layout.addWidget(self.qr)
        layout.addWidget(self.enable_lan)
        layout.addWidget(buttons)

    def set_addresses(
        self, lan_url: str, ws_url: str, token: str, note: str = "", fingerprint: str = ""
    ) -> None:
        """``lan_url`` carries the token; without one the dialog says how to get one.
        ``fingerprint`` is the server certificate's SHA-256, "" when it serves plain http."""
        self.url.setText(lan_url)
        self.token.setText(token)
        self.ws_url.setText(ws_url)
        self.fingerprint.setText(fingerprint or self.tr("none: plain http (TLS is off)"))
        self.fingerprint_note.setText(
            self.tr(
                "The browser will warn about a self-signed certificate: accept it only if the"
                " fingerprint it shows matches this one."
            )
            if fingerprint
            else self.tr("Without TLS, phones and tablets cannot use their microphone here.")
        )
        has_lan = bool(lan_url)
        self.fingerprint.setVisible(has_lan)
        self.fingerprint_note.setVisible(has_lan)
        if lan_url:
            self.intro.setText(
                self.tr(
                    "Scan the code with a phone or tablet on the same network, or type the"
                    " address. The token keeps other people out; regenerate it in Settings."
                )
            )
            self.qr.setPixmap(qr_pixmap(lan_url))
            self.enable_lan.hide()
        else:
            self.intro.setText(
                note
                or self.tr(
                    "Other devices cannot connect yet: LAN access is off. Turn it on to get an"
                    " address and a QR code."
                )
            )
            self.qr.clear()
            self.qr.setText(self.tr("No LAN address"))
            self.enable_lan.setVisible(not note)

    def qr_text(self) -> str:
        return self.url.text()
