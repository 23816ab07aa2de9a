"""The settings dialog (offscreen): edits a copy, lists devices, shows names, stores codes."""

from __future__ import annotations

from whisper_desktop.settings import Settings
from whisper_desktop.widgets.settings_dialog import SettingsDialog


def test_settings_dialog_edits_a_copy(qtbot) -> None:
    start = Settings(token="old-token", mic_device="Gone Mic")
    d = SettingsDialog(start, lambda: ["Mic A", "Mic B"], lambda: ["Speakers", "HDMI"])
    qtbot.addWidget(d)
    assert [d.mic_device.itemText(i) for i in range(d.mic_device.count())] == [
        "System default",
        "Mic A",
        "Mic B",
        "Gone Mic (not connected)",
    ]
    assert d.mic_device.currentData() == "Gone Mic"
    d.model.setCurrentText("tiny.en")
    d.language.setCurrentText("de")
    d.mic_device.setCurrentIndex(2)
    d.loopback_speaker.setCurrentIndex(2)
    d.port.setValue(9123)
    d.lan_enabled.setChecked(True)
    d.font_size.setValue(32)
    d.opacity.setValue(0.6)
    d.click_through.setChecked(True)
    d.user_color.set_color("#112233")
    d.regenerate_token()
    r = d.result_settings()
    assert (r.model, r.language, r.mic_device, r.loopback_speaker) == (
        "tiny.en",
        "de",
        "Mic B",
        "HDMI",
    )
    assert (r.port, r.lan_enabled, r.overlay_font_size, r.overlay_opacity) == (9123, True, 32, 0.6)
    assert r.overlay_click_through and r.overlay_user_color == "#112233"
    assert r.token != "old-token" and len(r.token) >= 16
    assert start.model == "base"  # the original is untouched
    d.mic_device.setCurrentIndex(0)
    assert d.result_settings().mic_device == ""


def test_settings_dialog_picks_the_compute_device(qtbot) -> None:
    d = SettingsDialog(Settings())
    qtbot.addWidget(d)
    codes = [d.device.itemData(i) for i in range(d.device.count())]
    assert codes == ["auto", "cpu", "cuda"] and d.result_settings().device == "auto"
    d.device.setCurrentIndex(codes.index("cuda"))
    assert d.result_settings().device == "cuda"
    other = SettingsDialog(Settings(device="cuda:1"))  # from the command line: kept, selectable
    qtbot.addWidget(other)
    assert other.device.currentText() == "cuda:1" and other.result_settings().device == "cuda:1"


def test_settings_dialog_survives_a_broken_audio_backend(qtbot) -> None:
    def broken() -> list[str]:
        raise OSError("no sound server")

    d = SettingsDialog(Settings(), broken, broken)
    qtbot.addWidget(d)
    assert d.mic_device.count() == 1 and d.loopback_speaker.count() == 1


def test_settings_dialog_shows_names_and_stores_codes(qtbot) -> None:
    from server_core.model_names import official_names

    d = SettingsDialog(Settings(language="de"))
    qtbot.addWidget(d)
    assert [d.model.itemText(i) for i in range(d.model.count())] == list(official_names())
    assert d.language.currentText() == "German (de)" and d.result_settings().language == "de"
    assert d.language.itemText(0) == "Detect automatically"
    d.language.setCurrentIndex(0)
    assert d.result_settings().language == "auto"
    d.language.setEditText("French")
    assert d.result_settings().language == "fr"
    d.language.setEditText("")
    assert d.result_settings().language == "auto"
    unknown = SettingsDialog(Settings(language="xx"))
    qtbot.addWidget(unknown)
    assert unknown.result_settings().language == "xx"  # kept as it was; the engine judges it
