"""The tray (offscreen): its menu holds every action, in order."""

from __future__ import annotations

from whisper_desktop.widgets.tray import AppActions, Tray


def test_tray_menu_has_every_action(qtbot) -> None:
    tray = Tray(AppActions())
    texts = [a.text() if not a.isSeparator() else "-" for a in tray.menu.actions()]
    assert texts == [
        "Whisper Desktop — loading", "-", "Microphone", "System audio", "Show captions", "-",
        "Transcript history…", "Connect a device…", "Settings…", "-", "Quit",
    ]  # fmt: skip
