"""The reading options in the running app (fake engine, offscreen): lines, outline and
background reach the overlay live and are kept; finished lines reach the scrollback and, when
turned on, the live text files."""

from __future__ import annotations

from pathlib import Path

from whisper_desktop.host import HostState
from whisper_desktop.settings import load_settings, open_qsettings


def test_overlay_options_apply_live_and_are_kept(qtbot, make_app, tmp_path: Path) -> None:
    app = make_app()
    app.start()
    before = app.overlay.height()
    app.apply_settings(
        app.settings.replace(
            overlay_lines=6,
            overlay_outline_width=3,
            overlay_outline_color="#ff00ff",
            overlay_background_color="#ffffff",
            overlay_opacity=0.0,
        )
    )
    style = app.overlay.style_options
    assert (style.lines, style.outline_width, style.outline_color) == (6, 3, "#ff00ff")
    assert (style.background_color, style.opacity) == ("#ffffff", 0.0)
    assert app.overlay.height() == app.overlay.height_for_lines() > before
    kept = load_settings(open_qsettings(tmp_path))
    assert (kept.overlay_lines, kept.overlay_outline_width, kept.overlay_outline_color) == (
        6,
        3,
        "#ff00ff",
    )
    assert (kept.overlay_background_color, kept.overlay_opacity) == ("#ffffff", 0.0)
    grown = app.overlay.height()
    qtbot.waitUntil(lambda: (app.settings.overlay_geometry or (0,) * 4)[3] == grown, timeout=3000)
    app.quit()
    qtbot.waitUntil(lambda: app.finished, timeout=6000)
    again = make_app()  # the grown overlay was saved where it settled
    assert again.overlay.style_options.lines == 6
    assert again.overlay.height() == grown


def test_finished_lines_reach_the_scrollback_and_the_live_text_file(
    qtbot, make_app, tmp_path: Path
) -> None:
    folder = tmp_path / "obs"
    app = make_app()
    app.apply_settings(
        app.settings.replace(live_text_enabled=True, live_text_folder=str(folder), overlay_lines=3)
    )
    app.start()
    qtbot.waitUntil(lambda: app.host.state == HostState.READY, timeout=5000)
    qtbot.waitUntil(
        lambda: "w2" in app.overlay.snapshot().get("user", {}).get("text", ""), timeout=5000
    )
    assert not (folder / "captions-You.txt").exists()  # words, not yet a finished line
    app.actions.mic.trigger()  # the microphone's session ends: its utterance is finished
    qtbot.waitUntil(lambda: (folder / "captions-You.txt").exists(), timeout=5000)
    line = (folder / "captions-You.txt").read_text(encoding="utf-8")
    assert line.startswith("w1 w2") and line.endswith("end.\n") and line.count("\n") == 1
    assert app.scrollback.lines() == [f"You: {line.strip()}"]
    assert app.overlay.announced_lines() == [f"You: {line.strip()}"]
    app.actions.scrollback.trigger()
    assert app.scrollback.isVisible()
    state = app.state()["scrollback"]
    assert state["visible"] and state["lines"] == [f"You: {line.strip()}"]
    # turned off: no more writes
    app.apply_settings(app.settings.replace(live_text_enabled=False))
    (folder / "captions-You.txt").unlink()
    app.actions.mic.trigger()
    qtbot.waitUntil(lambda: "user" in app.captures, timeout=3000)
    app.actions.mic.trigger()
    qtbot.waitUntil(lambda: len(app.scrollback.lines()) == 2, timeout=5000)
    assert not (folder / "captions-You.txt").exists()


def test_live_text_without_a_folder_uses_the_data_folder(qtbot, make_app, tmp_path) -> None:
    app = make_app()
    app.apply_settings(app.settings.replace(live_text_enabled=True))
    assert app.live_text is not None and app.live_text.folder == tmp_path / "live-text"
