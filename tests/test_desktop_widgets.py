"""Widget tests (offscreen): the caption overlay, the settings and the connect dialog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from whisper_desktop.qt_compat import protect_singletons  # noqa: E402

protect_singletons()  # PySide6 6.12.0 on Python 3.11 loses references: see qt_compat

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402

from whisper_desktop.settings import (  # noqa: E402
    Key,
    Overrides,
    Settings,
    load_settings,
    open_qsettings,
    save_settings,
)
from whisper_desktop.widgets.overlay import REMOTE_COLORS, CaptionOverlay, OverlayStyle  # noqa: E402
from whisper_desktop.widgets.settings_dialog import SettingsDialog  # noqa: E402

BLUE, YELLOW = "#4da6ff", "#ffd633"


def count_like(img: QImage, color: str, tol: int = 40) -> int:
    """Pixels within ``tol`` (per channel) of ``color``."""
    target = QColor(color)
    n = 0
    for y in range(0, img.height()):
        for x in range(0, img.width()):
            c = img.pixelColor(x, y)
            if (
                abs(c.red() - target.red()) <= tol
                and abs(c.green() - target.green()) <= tol
                and abs(c.blue() - target.blue()) <= tol
            ):
                n += 1
    return n


# -- overlay -----------------------------------------------------------------------------------


@pytest.fixture()
def overlay(qtbot) -> CaptionOverlay:
    w = CaptionOverlay(OverlayStyle(font_size=18, fade_seconds=0))
    qtbot.addWidget(w)
    w.resize(700, 220)
    w.set_captions_visible(True)
    return w


def test_overlay_shows_each_source_in_its_colour(overlay: CaptionOverlay) -> None:
    overlay.add_text("user", " Hello from", False)
    overlay.add_text("user", " the microphone.", True)
    overlay.add_text("system", " And the speakers", False)
    overlay.add_text("phone-1", " remote text", False)
    snap = overlay.snapshot()
    assert snap["user"] == {"label": "You", "color": BLUE, "text": "Hello from the microphone."}
    assert snap["system"] == {"label": "System", "color": YELLOW, "text": "And the speakers"}
    assert snap["phone-1"]["label"] == "phone-1"
    assert snap["phone-1"]["color"] == REMOTE_COLORS[0]
    overlay.add_text("laptop", " more", False)
    assert overlay.snapshot()["laptop"]["color"] == REMOTE_COLORS[1]
    img = overlay.grab().toImage()
    assert count_like(img, BLUE) > 30
    assert count_like(img, YELLOW) > 30
    assert count_like(img, REMOTE_COLORS[0]) > 30


def test_overlay_order_is_stable(overlay: CaptionOverlay) -> None:
    for cid in ("phone-1", "system", "laptop", "user"):
        overlay.add_text(cid, " hi", False)
    assert [s.client_id for s in overlay.ordered_sources()] == [
        "user",
        "system",
        "phone-1",
        "laptop",
    ]


def test_overlay_keeps_the_latest_lines(overlay: CaptionOverlay) -> None:
    for i in range(40):
        overlay.add_text("user", f" sentence{i} goes here.", True)
    text = overlay.snapshot()["user"]["text"]
    assert text.endswith("sentence39 goes here.") and len(text) <= 600
    from PySide6.QtGui import QFont, QFontMetrics

    lines = CaptionOverlay._wrap(text, QFontMetrics(QFont("DejaVu Sans", 18)), 300)
    assert len(lines) > 2 and lines[-1].endswith("here.")


def test_overlay_style_and_click_through(overlay: CaptionOverlay) -> None:
    overlay.add_text("user", " words", False)
    overlay.apply_style(OverlayStyle(user_color="#00ff00", click_through=True, font_size=30))
    assert overlay.snapshot()["user"]["color"] == "#00ff00"
    assert overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    overlay.apply_style(OverlayStyle(click_through=False))
    assert not overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    flags = overlay.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint and flags & Qt.WindowType.WindowStaysOnTopHint
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)


def test_overlay_fades_when_idle_and_comes_back(qtbot) -> None:
    w = CaptionOverlay(OverlayStyle(fade_seconds=0.3))
    qtbot.addWidget(w)
    w.set_captions_visible(True)
    w.add_text("phone-1", " hello", True)
    w.source_closed("phone-1")
    assert w.isVisible()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert w.faded() and "phone-1" not in w.snapshot()  # closed sources go with the fade
    w.add_text("user", " again", False)
    assert w.isVisible() and not w.faded()
    w.set_captions_visible(False)
    w.add_text("user", " hidden", False)
    assert not w.isVisible()


def test_overlay_reports_moves_and_resizes(qtbot, overlay: CaptionOverlay) -> None:
    with qtbot.waitSignal(overlay.geometry_changed, timeout=3000) as sig:
        overlay.setGeometry(100, 120, 640, 180)
    assert sig.args[0] == (100, 120, 640, 180)


# -- settings ----------------------------------------------------------------------------------


def test_settings_defaults_roundtrip_and_token(tmp_path: Path) -> None:
    qs = open_qsettings(tmp_path)
    s = load_settings(qs)
    assert s.model == "base" and s.port == 9000 and s.host == "127.0.0.1" and len(s.token) >= 16
    assert load_settings(open_qsettings(tmp_path)).token == s.token  # created once, kept
    changed = s.replace(
        model="tiny.en",
        mic_enabled=False,
        overlay_opacity=0.5,
        overlay_geometry=(10, 20, 300, 100),
        mic_device="USB Mic",
    )
    save_settings(qs, changed)
    again = load_settings(open_qsettings(tmp_path))
    assert again == changed
    assert (tmp_path / "settings.ini").read_text().count("tiny.en") == 1


def test_settings_ignore_bad_values(tmp_path: Path) -> None:
    qs = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    qs.setValue(Key.PORT.value, "not a port")
    qs.setValue(Key.OVERLAY_GEOMETRY.value, "1,2")
    qs.setValue(Key.LAN_ENABLED.value, "true")
    qs.sync()
    s = load_settings(open_qsettings(tmp_path))
    assert s.port == 9000 and s.overlay_geometry is None and s.lan_enabled is True


def test_overrides_and_derived_values() -> None:
    s = Overrides(model="tiny.en", language="de", port=9100, no_server=True).apply(Settings())
    assert (s.model, s.language, s.port, s.server_enabled) == ("tiny.en", "de", 9100, False)
    assert s.effective_language == "en"  # English-only model
    assert Settings(lan_enabled=True).bind_host == "0.0.0.0"
    assert Settings(lan_enabled=False).bind_host == "127.0.0.1"
    assert Settings(host="192.168.1.5", lan_enabled=True).bind_host == "192.168.1.5"
    assert Settings().changed_fields(Settings(port=1, model="x")) == {"port", "model"}


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


def test_settings_dialog_survives_a_broken_audio_backend(qtbot) -> None:
    def broken() -> list[str]:
        raise OSError("no sound server")

    d = SettingsDialog(Settings(), broken, broken)
    qtbot.addWidget(d)
    assert d.mic_device.count() == 1 and d.loopback_speaker.count() == 1


# -- connect dialog ----------------------------------------------------------------------------


def test_connect_dialog_shows_url_token_and_qr(qtbot) -> None:
    from whisper_desktop.widgets.connect_dialog import ConnectDialog, qr_matrix

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
    d.set_addresses("", "ws://127.0.0.1:9000/ws/transcription", "abcdef")
    assert "LAN access is off" in d.intro.text() and not d.enable_lan.isHidden()
    with qtbot.waitSignal(d.enable_lan_requested, timeout=1000):
        d.enable_lan.click()


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
