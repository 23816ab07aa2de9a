"""The connect dialog (offscreen): URL, token and QR code, and the offer to turn on LAN."""

from __future__ import annotations

from whisper_desktop.widgets.connect_dialog import ConnectDialog, qr_matrix


def test_connect_dialog_shows_url_token_and_qr(qtbot) -> None:
    d = ConnectDialog()
    qtbot.addWidget(d)
    url = "http://192.168.1.20:9000/?token=abcdef"
    d.set_addresses(url, "ws://127.0.0.1:9000/ws/transcription", "abcdef")
    d.show()
    assert d.url.text() == url and d.token.text() == "abcdef"
    pm = d.qr.pixmap()
    assert not pm.isNull() and pm.width() >= len(qr_matrix(url))
    img = pm.toImage()
    dark = sum(
        img.pixelColor(x, y).black() > 128
        for y in range(0, img.height(), 3)
        for x in range(0, img.width(), 3)
    )
    assert dark > 100
    assert d.enable_lan.isHidden()
    assert "plain http" in d.fingerprint.text()  # no fingerprint given: TLS is off
    assert "cannot use their microphone" in d.fingerprint_note.text()
    pin = ":".join(["AB"] * 32)
    secure = "https://192.168.1.20:9000/?token=abcdef"
    d.set_addresses(secure, "wss://127.0.0.1:9000/ws/transcription", "abcdef", fingerprint=pin)
    assert d.fingerprint.text() == pin and d.fingerprint.isVisible()
    assert "matches this one" in d.fingerprint_note.text() and d.qr_text() == secure
    d.set_addresses("", "ws://127.0.0.1:9000/ws/transcription", "abcdef")
    assert "LAN access is off" in d.intro.text() and not d.enable_lan.isHidden()
    with qtbot.waitSignal(d.enable_lan_requested, timeout=1000):
        d.enable_lan.click()
