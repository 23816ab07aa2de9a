"""The settings model: defaults, QSettings round trip, bad values, overrides, derived values."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from whisper_desktop.settings import (
    Key,
    Overrides,
    Settings,
    first_run_language,
    load_settings,
    open_qsettings,
    save_settings,
)


def test_settings_defaults_roundtrip_and_token(tmp_path: Path) -> None:
    qs = open_qsettings(tmp_path)
    s = load_settings(qs)
    assert s.model == "base" and s.port == 9000 and s.host == "127.0.0.1" and len(s.token) >= 16
    assert s.device == "auto" and s.host_config().device == "auto"
    assert load_settings(open_qsettings(tmp_path)).token == s.token  # created once, kept
    changed = s.replace(
        model="tiny.en",
        mic_enabled=False,
        overlay_opacity=0.5,
        overlay_geometry=(10, 20, 300, 100),
        mic_device="USB Mic",
        device="cuda:1",
        tls_enabled=False,
        tls_certfile="/etc/ssl/mine.pem",
    )
    assert s.tls_enabled and s.tls_certfile == ""  # TLS off loopback, self-signed, by default
    save_settings(qs, changed)
    again = load_settings(open_qsettings(tmp_path))
    assert again == changed
    assert (tmp_path / "settings.ini").read_text().count("tiny.en") == 1
    assert again.host_config().device == "cuda:1"
    config = again.host_config()
    assert (config.tls_enabled, config.tls_certfile, config.tls_keyfile) == (
        False,
        "/etc/ssl/mine.pem",
        "",
    )


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
    assert s.device == "auto"  # no --device: the saved one
    assert Overrides(device="cpu").apply(Settings(device="cuda")).host_config().device == "cpu"
    assert Settings(lan_enabled=True).bind_host == "0.0.0.0"
    assert Settings(lan_enabled=False).bind_host == "127.0.0.1"
    assert Settings(host="192.168.1.5", lan_enabled=True).bind_host == "192.168.1.5"
    assert Settings().changed_fields(Settings(port=1, model="x")) == {"port", "model"}


@pytest.mark.parametrize(
    ("env", "language"),
    [
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "fr_CA.UTF-8", "LC_MESSAGES": "pt_BR"}, "pt"),
        ({"LC_ALL": "C.UTF-8", "LANG": "es_ES.UTF-8"}, "es"),
        ({"LANGUAGE": "nb_NO:en", "LANG": "en_US.UTF-8"}, "no"),
        ({"LANG": "sr_RS@latin"}, "sr"),
        ({"LANG": "C.UTF-8"}, "de"),
        ({"LANG": "tlh_KL"}, "de"),
        ({}, "de"),
    ],
)
def test_first_run_language_follows_the_locale(env: dict, language: str) -> None:
    assert first_run_language(env) == language


def test_a_first_start_takes_the_locale_and_keeps_it(tmp_path: Path, monkeypatch) -> None:
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert load_settings(open_qsettings(tmp_path)).language == "en"
    monkeypatch.setenv("LANG", "it_IT.UTF-8")  # later starts keep the first choice
    assert load_settings(open_qsettings(tmp_path)).language == "en"
    qs = open_qsettings(tmp_path)
    save_settings(qs, load_settings(qs).replace(language="ja"))
    assert load_settings(open_qsettings(tmp_path)).language == "ja"


def test_final_pass_setting_reaches_the_host_and_the_flag_overrides_it() -> None:
    from whisper_desktop.settings import Overrides, Settings

    assert Settings().final_pass is False  # off by default (a flooding client, see config.py)
    on = Settings(final_pass=True)
    assert on.host_config().final_pass is True
    off = Overrides(no_final_pass=True).apply(on)
    assert off.final_pass is False and off.host_config().final_pass is False
