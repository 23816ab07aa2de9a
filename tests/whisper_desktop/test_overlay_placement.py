"""The overlay's position per screen: restored on the screen it was last on when that screen is
here, else on the primary screen, without forgetting the other screen's place."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication

from tests.support.qt import offscreen_screens
from whisper_desktop.overlay_placement import (
    ScreenInfo,
    choose_rect,
    default_rect,
    format_positions,
    parse_positions,
    remember,
)
from whisper_desktop.settings import load_settings, open_qsettings

LAPTOP = ScreenInfo("eDP-1", (0, 0, 1920, 1080), (0, 0, 1920, 1040))
MONITOR = ScreenInfo("HDMI-1", (1920, 0, 2560, 1440), (1920, 0, 2560, 1440))


def test_each_screen_keeps_its_own_position() -> None:
    positions, key = remember({}, (100, 800, 700, 200), [LAPTOP, MONITOR])
    assert key == "eDP-1 1920x1080+0+0"
    positions, key = remember(positions, (2500, 1100, 900, 260), [LAPTOP, MONITOR])
    assert key == "HDMI-1 2560x1440+1920+0"
    assert positions == {LAPTOP.key: (100, 800, 700, 200), MONITOR.key: (2500, 1100, 900, 260)}
    assert parse_positions(format_positions(positions)) == positions

    # both screens here, last on the monitor: back on the monitor
    assert choose_rect(positions, MONITOR.key, [LAPTOP, MONITOR], LAPTOP) == (
        (2500, 1100, 900, 260),
        MONITOR,
    )
    # the monitor unplugged: the laptop's own position, and the monitor's is not touched
    assert choose_rect(positions, MONITOR.key, [LAPTOP], LAPTOP) == ((100, 800, 700, 200), LAPTOP)
    assert MONITOR.key in positions
    # plugged in again: back where it was
    assert choose_rect(positions, MONITOR.key, [LAPTOP, MONITOR], LAPTOP)[1] == MONITOR


def test_an_unknown_screen_falls_back_to_the_primary_default() -> None:
    positions = {MONITOR.key: (2500, 1100, 900, 260)}
    rect, screen = choose_rect(positions, MONITOR.key, [LAPTOP], LAPTOP)
    assert screen == LAPTOP and rect == default_rect(LAPTOP.available) == (580, 740, 760, 240)
    # the same name at another resolution is another screen
    bigger = ScreenInfo("HDMI-1", (1920, 0, 3840, 2160), (1920, 0, 3840, 2160))
    assert choose_rect(positions, MONITOR.key, [LAPTOP, bigger], LAPTOP)[1] == LAPTOP


def test_a_single_saved_geometry_from_before_is_used_once() -> None:
    assert choose_rect({}, "", [LAPTOP, MONITOR], LAPTOP, legacy=(2000, 50, 600, 180)) == (
        (2000, 50, 600, 180),
        MONITOR,
    )
    off_screen = (9000, 9000, 600, 180)
    assert choose_rect({}, "", [LAPTOP], LAPTOP, legacy=off_screen)[0] == default_rect(
        LAPTOP.available
    )


def test_unreadable_positions_are_ignored() -> None:
    assert parse_positions("not json") == {}
    assert parse_positions('{"a": [1, 2, 3, 4], "b": "x", "c": [1, 2]}') == {"a": (1, 2, 3, 4)}


def test_the_app_saves_per_screen_and_keeps_an_absent_screens_place(
    qtbot, make_app, tmp_path: Path
) -> None:
    screen = QGuiApplication.primaryScreen()
    here = f"{screen.name()} {screen.geometry().width()}x{screen.geometry().height()}+0+0"
    qs = open_qsettings(tmp_path)
    absent = {"HDMI-9 2560x1440+4000+0": (4100, 100, 900, 260)}
    qs.setValue("overlay/positions", format_positions(absent))
    qs.setValue("overlay/screen", "HDMI-9 2560x1440+4000+0")
    qs.sync()

    first = make_app()  # its last screen is not here: the primary screen's default place
    first.start()
    g = first.overlay.geometry()
    avail = screen.availableGeometry()
    expected = default_rect((avail.x(), avail.y(), avail.width(), avail.height()))
    assert (g.x(), g.y(), g.width(), g.height()) == expected
    with qtbot.waitSignal(first.overlay.geometry_changed, timeout=3000):
        first.overlay.setGeometry(40, 50, 600, 180)
    qtbot.waitUntil(lambda: first.settings.overlay_screen == here, timeout=3000)
    stored = load_settings(open_qsettings(tmp_path))
    assert parse_positions(stored.overlay_positions) == {**absent, here: (40, 50, 600, 180)}
    first.quit()
    qtbot.waitUntil(lambda: first.finished, timeout=6000)

    second = make_app()
    g = second.overlay.geometry()
    assert (g.x(), g.y(), g.width(), g.height()) == (40, 50, 600, 180)


def _run_app_once(tmp_path: Path, platform: str) -> tuple[list[int], str]:
    """Start the app with these screens until it settles; its overlay geometry and the
    screen it says it is on."""
    import json
    import os
    import time

    from tests.support.app_process import app_settled

    state = tmp_path / "state.json"
    env = {**os.environ, "QT_QPA_PLATFORM": platform}
    with app_settled(tmp_path / "data", state, env):
        time.sleep(1.0)  # let a geometry save (if any) happen
    log = (tmp_path / "data" / "whisper-desktop.log").read_text()
    placed = [line for line in log.splitlines() if "overlay on screen" in line][-1]
    return json.loads(state.read_text())["overlay"]["geometry"], placed


def test_unplugging_and_replugging_a_monitor_with_real_qt_screens(tmp_path: Path) -> None:
    both = offscreen_screens(
        tmp_path / "both.json", [("eDP-1", 0, 0, 1280, 800), ("HDMI-1", 1280, 0, 1920, 1080)]
    )
    laptop = offscreen_screens(tmp_path / "laptop.json", [("eDP-1", 0, 0, 1280, 800)])
    qs = open_qsettings(tmp_path / "data")
    monitor_key = "HDMI-1 1920x1080+1280+0"
    qs.setValue("overlay/positions", format_positions({monitor_key: (1500, 700, 700, 150)}))
    qs.setValue("overlay/screen", monitor_key)
    qs.sync()

    geometry, placed = _run_app_once(tmp_path, both)
    assert geometry == [1500, 700, 700, 150] and monitor_key in placed
    geometry, placed = _run_app_once(tmp_path, laptop)  # unplugged: the laptop's default
    assert geometry == list(default_rect((0, 0, 1280, 800))) and "eDP-1" in placed
    stored = load_settings(open_qsettings(tmp_path / "data"))
    assert parse_positions(stored.overlay_positions)[monitor_key] == (1500, 700, 700, 150)
    geometry, placed = _run_app_once(tmp_path, both)  # plugged in again: back on the monitor
    assert geometry == [1500, 700, 700, 150] and monitor_key in placed
