"""The tray (offscreen): its menu holds every action, in order."""

from __future__ import annotations

from whisper_desktop.widgets.tray import AppActions, StatusInfo, Tray


def test_tray_menu_has_every_action(qtbot) -> None:
    tray = Tray(AppActions())
    texts = [a.text() if not a.isSeparator() else "-" for a in tray.menu.actions()]
    assert texts == [
        "Whisper Desktop — loading", "-", "Microphone", "System audio", "Show captions", "-",
        "Transcript history…", "Caption scrollback…", "Connect a device…", "Settings…", "-", "Quit",
    ]  # fmt: skip


def test_the_tooltip_names_the_device_once_the_model_runs() -> None:
    assert "Device" not in StatusInfo(model="base").tooltip()
    tip = StatusInfo(model="turbo", language="de", device="cuda, float16").tooltip()
    assert "Model: turbo   Language: de\nDevice: cuda, float16\n" in tip
