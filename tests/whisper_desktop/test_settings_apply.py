"""The settings dialog's OK/Apply/Cancel, and the question before a server restart drops
connected clients (answered both ways by a timer, as a user would click)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from tests.support.desktop_app import SR
from tests.support.fake_server import FakeServer
from whisper_desktop.host import HostState
from whisper_desktop.settings import load_settings, open_qsettings

Button = QDialogButtonBox.StandardButton


def answer_next_question(app, button: QMessageBox.StandardButton) -> list[str]:
    """Click ``button`` on the next warning the app shows; returns the texts it showed."""
    seen: list[str] = []

    def look() -> None:
        box = app.warning_box
        if box is not None and box.isVisible():
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, look)

    QTimer.singleShot(0, look)
    return seen


def test_apply_keeps_the_dialog_open_and_cancel_keeps_what_was_applied(
    qtbot, make_app, tmp_path
) -> None:
    app = make_app()
    app.start()
    app.show_settings()
    d = app.settings_dialog
    assert {d.buttons.button(b) is not None for b in (Button.Ok, Button.Apply, Button.Cancel)} == {
        True
    }
    d.font_size.setValue(33)
    d.buttons.button(Button.Apply).click()
    assert d.isVisible() and app.overlay.style_options.font_size == 33
    assert load_settings(open_qsettings(tmp_path)).overlay_font_size == 33
    d.buttons.button(Button.Cancel).click()
    assert not d.isVisible() and app.settings.overlay_font_size == 33
    app.show_settings()
    d = app.settings_dialog
    assert d.font_size.value() == 33
    d.opacity.setValue(0.5)
    d.buttons.button(Button.Ok).click()
    assert not d.isVisible() and app.settings.overlay_opacity == 0.5


def test_a_dialog_does_not_undo_a_move_of_the_overlay(qtbot, make_app) -> None:
    app = make_app()
    app.start()
    app.show_settings()
    with qtbot.waitSignal(app.overlay.geometry_changed, timeout=3000):
        app.overlay.setGeometry(40, 50, 600, 180)
    qtbot.waitUntil(lambda: app.settings.overlay_geometry == (40, 50, 600, 180), timeout=3000)
    app.settings_dialog.font_size.setValue(25)
    app.settings_dialog.buttons.button(Button.Ok).click()
    assert app.settings.overlay_geometry == (40, 50, 600, 180)
    assert app.settings.overlay_font_size == 25


def test_a_server_restart_asks_before_dropping_clients(qtbot, make_app) -> None:
    app = make_app()
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    server = FakeServer.started[-1]
    phone = server.engine.open_session("phone-1", lambda e: None, meta={"peer": "192.0.2.9"})
    phone.push(np.zeros(SR, np.float32))
    qtbot.waitUntil(lambda: app.remote_clients == ["phone-1"], timeout=3000)

    app.show_settings()
    d = app.settings_dialog
    d.port.setValue(9556)
    seen = answer_next_question(app, QMessageBox.StandardButton.Cancel)
    d.buttons.button(Button.Apply).click()
    assert seen and "disconnects the 1 connected remote client." in seen[0]
    assert d.isVisible() and app.settings.port == 9555  # nothing applied
    qtbot.wait(300)
    assert FakeServer.started[-1] is server and not server.stopped

    d.font_size.setValue(26)  # OK declined: the dialog stays open, nothing applied
    seen = answer_next_question(app, QMessageBox.StandardButton.Cancel)
    d.buttons.button(Button.Ok).click()
    assert seen and d.isVisible() and app.settings.overlay_font_size != 26

    seen = answer_next_question(app, QMessageBox.StandardButton.Ok)
    d.buttons.button(Button.Ok).click()
    assert seen and not d.isVisible()
    assert app.settings.port == 9556 and app.settings.overlay_font_size == 26
    qtbot.waitUntil(lambda: FakeServer.started[-1].config.port == 9556, timeout=3000)
    assert server.stopped

    # no client connected: no question (the fake server does not end its sessions itself)
    phone.end()
    qtbot.waitUntil(lambda: app.remote_clients == [], timeout=3000)
    app.show_settings()
    app.settings_dialog.port.setValue(9557)
    app.settings_dialog.buttons.button(Button.Ok).click()
    assert app.warning_box is None and app.settings.port == 9557
    qtbot.waitUntil(lambda: FakeServer.started[-1].config.port == 9557, timeout=3000)
