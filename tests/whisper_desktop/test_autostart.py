"""Start with the session: the setting writes and removes a valid XDG autostart entry."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from whisper_desktop import autostart
from whisper_desktop.settings import load_settings, open_qsettings

VALIDATE = shutil.which("desktop-file-validate")


def _validate(path: Path) -> None:
    if VALIDATE is None:
        pytest.skip("desktop-file-validate is not installed (apt: desktop-file-utils)")
    r = subprocess.run([VALIDATE, str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_entry_goes_to_xdg_config_home_and_is_valid(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    path = autostart.set_enabled(
        True, ["/opt/my apps/whisper-desktop", "--data-dir", "/tmp/a b$c"], env
    )
    assert path == tmp_path / "cfg" / "autostart" / "whisper-desktop.desktop"
    assert autostart.is_enabled(env)
    text = path.read_text()
    assert text.startswith("[Desktop Entry]\n")
    assert 'Exec="/opt/my apps/whisper-desktop" --data-dir "/tmp/a b\\$c"\n' in text
    _validate(path)
    autostart.set_enabled(False, environ=env)
    assert not path.exists() and not autostart.is_enabled(env)
    autostart.set_enabled(False, environ=env)  # already off: nothing to do, no error


def test_relative_xdg_config_home_is_ignored(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.autostart_dir({"XDG_CONFIG_HOME": "rel"}) == tmp_path / ".config/autostart"


def test_the_setting_writes_and_removes_the_entry(
    qtbot,
    make_app,
    monkeypatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    entry = tmp_path / "cfg" / "autostart" / "whisper-desktop.desktop"
    app = make_app()
    app.show_settings()
    dialog = app.settings_dialog
    assert not dialog.autostart.isChecked()
    dialog.autostart.setChecked(True)
    dialog.accept()
    assert entry.is_file()
    assert "Exec=" in entry.read_text()
    _validate(entry)
    assert load_settings(open_qsettings(tmp_path)).autostart is True

    app.show_settings()
    app.settings_dialog.autostart.setChecked(False)
    app.settings_dialog.accept()
    assert not entry.exists()
    assert load_settings(open_qsettings(tmp_path)).autostart is False


def test_an_unwritable_autostart_folder_keeps_the_setting_off(
    qtbot,
    make_app,
    monkeypatch,
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "cfg"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    app = make_app()
    app.apply_settings(app.settings.replace(autostart=True))
    assert app.settings.autostart is False
    assert load_settings(open_qsettings(tmp_path)).autostart is False
