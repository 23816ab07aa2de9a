"""The running app: builds the windows, captures and engine host, and connects their signals.

Everything here runs on the GUI thread; workers report through Qt signals only.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QRect, QSettings, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon, QWidget

from server_core.audio.echo import REFERENCE_BLOCK_SECONDS
from server_core.audio.sources import (
    CaptureState,
    LoopbackSource,
    MicSource,
    list_input_devices,
    list_speakers,
)
from server_core.events import NoticeEvent, TranscriptEvent, UtteranceEvent
from server_core.model_names import official_names
from whisper_desktop import autostart
from whisper_desktop.audio_devices import list_input_choices
from whisper_desktop.capture import SYSTEM, USER, CaptureWorker, EchoControl
from whisper_desktop.history.recorder import HistoryRecorder
from whisper_desktop.history.store import HistoryStore
from whisper_desktop.host import EngineHost, HostState
from whisper_desktop.live_text import LiveTextFiles
from whisper_desktop.model_catalog import InstalledLister
from whisper_desktop.model_download import DownloadThread
from whisper_desktop.overlay_placement import (
    ScreenInfo,
    choose_rect,
    format_positions,
    parse_positions,
    remember,
)
from whisper_desktop.paths import history_db_path
from whisper_desktop.qt_compat import protect_singletons
from whisper_desktop.settings import (
    LIVE_TEXT_FIELDS,
    OVERLAY_FIELDS,
    SCROLLBACK_FIELDS,
    SERVER_FIELDS,
    Overrides,
    Settings,
    load_settings,
    save_settings,
)
from whisper_desktop.single_instance import SHOW, TOGGLE_CAPTIONS, TOGGLE_MIC
from whisper_desktop.widgets.connect_dialog import ConnectDialog
from whisper_desktop.widgets.download_dialog import DownloadDialog
from whisper_desktop.widgets.history_window import HistoryWindow
from whisper_desktop.widgets.main_window import MainWindow
from whisper_desktop.widgets.overlay import CaptionOverlay, OverlayStyle
from whisper_desktop.widgets.scrollback import ScrollbackWindow
from whisper_desktop.widgets.settings_dialog import DeviceLister, SettingsDialog
from whisper_desktop.widgets.tray import AppActions, StatusInfo, Tray, TrayState

if TYPE_CHECKING:  # importing it loads openai-whisper and torch
    from server_core.models.resolve import ResolvedModel

log = logging.getLogger("whisper_desktop")

STATE_FILE_ENV = "WHISPER_DESKTOP_STATE_FILE"  # debug/tests: write the app's state here as JSON
LIVE_TEXT_DIR = "live-text"  # in the data folder, when live text files are on without a folder
QUIT_SECONDS = 5.0
LABELS = {
    "user": QT_TRANSLATE_NOOP("DesktopApp", "Microphone"),
    "system": QT_TRANSLATE_NOOP("DesktopApp", "System audio"),
}
IDLE_TEXTS = {  # what the overlay says while no one speaks
    TrayState.LOADING: QT_TRANSLATE_NOOP("DesktopApp", "Loading the model…"),
    TrayState.LISTENING: QT_TRANSLATE_NOOP("DesktopApp", "Listening…"),
    TrayState.PAUSED: QT_TRANSLATE_NOOP("DesktopApp", "Captions paused"),
    TrayState.ERROR: QT_TRANSLATE_NOOP("DesktopApp", "Not transcribing (see the tray)"),
}


def _tr(text: str) -> str:
    """A string marked with QT_TRANSLATE_NOOP in the DesktopApp context, translated."""
    return QCoreApplication.translate("DesktopApp", text)


def screen_info(screen: QScreen) -> ScreenInfo:
    g, a = screen.geometry(), screen.availableGeometry()
    return ScreenInfo(
        screen.name(), (g.x(), g.y(), g.width(), g.height()), (a.x(), a.y(), a.width(), a.height())
    )


ECHO_TICK_MS = 250


def make_source(client_id: str, settings: Settings) -> MicSource | LoopbackSource:
    if client_id == USER:
        return MicSource(settings.mic_device)
    if settings.echo_cancellation:
        return LoopbackSource(settings.loopback_speaker, REFERENCE_BLOCK_SECONDS)
    return LoopbackSource(settings.loopback_speaker)


def _device_listers() -> tuple[DeviceLister, DeviceLister]:
    return functools.partial(list_input_choices, list_input_devices), list_speakers


def _resolve_model(spec: str) -> ResolvedModel:
    from server_core.models.resolve import resolve_model

    return resolve_model(spec)


def installed_models() -> dict[str, str]:
    """Official model names usable without a download, and where each comes from. Imports
    openai-whisper and torch, which the running engine has loaded already."""
    from server_core.models import available_offline

    return available_offline()


class DesktopApp:
    """Builds the windows, the captures and the engine host, and connects them."""

    def __init__(
        self,
        data_dir: Path,
        qsettings: QSettings,
        overrides: Overrides,
        host: EngineHost | None = None,
        source_factory: Callable[[str, Settings], Any] = make_source,
        tray_available: bool | None = None,
        device_listers: tuple[DeviceLister, DeviceLister] | None = None,
        model_lister: InstalledLister = installed_models,
    ) -> None:

        protect_singletons()

        self.qapp = QApplication.instance()
        self.data_dir = data_dir
        self._tls_dir = str(data_dir / "tls")  # the self-signed certificate, beside the rest
        self.qsettings = qsettings
        self.overrides = overrides
        self.settings = overrides.apply(load_settings(qsettings))
        self.source_factory = source_factory
        self.device_listers = device_listers
        self.model_lister = model_lister
        self.host = host or EngineHost()
        self.store = HistoryStore(history_db_path(data_dir))
        self.recorder = HistoryRecorder(
            self.store,
            self.settings.model,
            self.settings.effective_language,
            enabled=self.settings.history_enabled,
        )
        self.captures: dict[str, CaptureWorker] = {}
        self.echo = EchoControl(self.settings.echo_cancellation)
        self.capture_states: dict[str, tuple[str, str]] = {}
        self.capture_problems: dict[str, str] = {}  # the last one shown: shown again on change
        self.remote_clients: list[str] = []
        self.host_detail = ""
        self.quitting = False
        self.finished = False
        self.history_window: HistoryWindow | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.connect_dialog: ConnectDialog | None = None
        self.warning_box: QMessageBox | None = None  # while asking before dropping clients
        self.download_dialog: DownloadDialog | None = None  # while a model downloads
        self.model_resolver: Callable[[str], ResolvedModel] = _resolve_model

        self.actions = AppActions()
        self.overlay = CaptionOverlay(self._overlay_style())
        self._place_overlay()
        self.overlay.geometry_changed.connect(self._save_overlay_geometry)
        self.overlay.settings_requested.connect(self.show_settings)
        self.overlay.history_requested.connect(self.show_history)
        self.overlay.scrollback_requested.connect(self.show_scrollback)
        self.overlay.line_finished.connect(self._line_finished)
        s = self.settings
        self.scrollback = ScrollbackWindow(
            s.scrollback_minutes, s.overlay_font_family, s.overlay_font_size, s.scrollback_screen
        )
        self.live_text: LiveTextFiles | None = None
        self._live_text_failed = False
        self._set_live_text()
        self.overlay.hide_requested.connect(lambda: self.actions.captions.setChecked(False))
        self.overlay.quit_requested.connect(self.quit)
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray = Tray(self.actions) if tray_available else None
        self.main_window = MainWindow(
            self.actions, sources={cid: _tr(label) for cid, label in LABELS.items()}
        )
        self.main_window.close_requested.connect(self._main_window_closed)

        a = self.actions
        a.mic.setChecked(self.settings.mic_enabled)
        a.system.setChecked(self.settings.system_enabled)
        a.captions.setChecked(self.settings.show_captions)
        a.mic.toggled.connect(lambda on: self.set_capture("user", on))
        a.system.toggled.connect(lambda on: self.set_capture("system", on))
        a.captions.toggled.connect(self.set_captions)
        a.history.triggered.connect(self.show_history)
        a.scrollback.triggered.connect(self.show_scrollback)
        a.connect_device.triggered.connect(self.show_connect)
        a.settings.triggered.connect(self.show_settings)
        a.quit.triggered.connect(self.quit)
        if self.tray is not None:
            self.tray.clicked.connect(self.toggle_main_window)

        h = self.host
        h.state_changed.connect(self._host_state)
        h.progress.connect(self._progress)
        h.transcript.connect(self._transcript)
        h.utterance.connect(self._utterance)
        h.notice.connect(self._notice)
        h.session_opened.connect(self._session_opened)
        h.session_closed.connect(self._session_closed)
        h.clients_changed.connect(self._clients)
        h.server_changed.connect(lambda info: self.refresh_status())
        h.reconfigured.connect(self._reconfigured)
        h.reconfigure_failed.connect(lambda msg: self._problem("Could not switch the model", msg))
        h.stopped.connect(self._finish)

        self._echo_timer = QTimer(interval=ECHO_TICK_MS)
        self._echo_timer.timeout.connect(self._echo_tick)
        self._history_refresh = QTimer(singleShot=True, interval=800)
        self._history_refresh.timeout.connect(self._refresh_history)
        self._state_file = os.environ.get(STATE_FILE_ENV)
        self._state_timer = QTimer(interval=500)
        self._state_timer.timeout.connect(self.write_state)

    # -- start / quit --------------------------------------------------------------------------

    def start(self) -> None:
        if self.tray is not None:
            self.tray.show()
        else:
            log.info("no system tray: showing the main window instead")
            self.main_window.show()
        self.overlay.set_captions_visible(self.settings.show_captions)
        self.refresh_status()
        if self._state_file:
            self._state_timer.start()
        self._echo_timer.start()
        self.host.start(self.settings.host_config(self._tls_dir))

    def quit(self) -> None:
        """Stop the captures, flush the engine, stop the server; done within 5 s."""

        if self.quitting:
            return
        self.quitting = True
        self._quit_started = time.monotonic()
        log.info("quitting")
        for worker in self.captures.values():
            worker.stop(timeout=0)
        self.host.shutdown(QUIT_SECONDS - 1.2)
        QTimer.singleShot(int((QUIT_SECONDS - 0.6) * 1000), self._finish)

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        for worker in self.captures.values():
            worker.stop(timeout=0.2)
        self.echo.mic_stopped()
        self._echo_timer.stop()
        self.recorder.close_all()
        self.store.close()
        self.qsettings.sync()
        self._state_timer.stop()
        self.write_state(final=True)
        if self.tray is not None:
            self.tray.hide()
        took = time.monotonic() - getattr(self, "_quit_started", time.monotonic())
        log.info("quit cleanly in %.2f s", took)
        self.qapp.quit()

    # -- captures ------------------------------------------------------------------------------

    def set_capture(self, client_id: str, on: bool) -> None:
        key = "mic_enabled" if client_id == "user" else "system_enabled"
        if getattr(self.settings, key) != on:
            self._persist({key: on})
        if on and self.host.is_ready() and not self.quitting:
            self._start_capture(client_id)
        elif not on:
            self._stop_capture(client_id)
        self.refresh_status()

    def _start_capture(self, client_id: str) -> None:
        if client_id in self.captures:
            return
        task = self.settings.mic_task if client_id == "user" else self.settings.system_task
        self.host.open_local(client_id, task)
        worker = CaptureWorker(
            client_id, self.source_factory(client_id, self.settings), self._capture_sink(client_id)
        )
        worker.state_changed.connect(self._capture_state)
        worker.level.connect(self._level)
        self.captures[client_id] = worker
        worker.start()

    def _capture_sink(self, client_id: str) -> Callable[[Any], None]:
        feeder = self.host.feeder(client_id)
        if client_id == SYSTEM:
            return self.echo.system_sink(feeder)
        if client_id != USER:
            return feeder
        had_problem = self.echo.problem
        sink = self.echo.mic_sink(feeder)
        if self.echo.problem and self.echo.problem != had_problem:
            self._problem("Echo cancellation is off", self.echo.problem)
        return sink

    def _stop_capture(self, client_id: str) -> None:
        worker = self.captures.pop(client_id, None)
        if worker is not None:
            worker.stop(timeout=0)
            self.main_window.levels.set_level(client_id, 0.0)
        if client_id == USER:
            self.echo.mic_stopped()
        self.capture_states.pop(client_id, None)
        self.capture_problems.pop(client_id, None)
        self.host.close_local(client_id)

    def _restart_capture(self, client_id: str) -> None:
        worker = self.captures.pop(client_id, None)
        if worker is not None:
            worker.stop(timeout=0)
            self.capture_states.pop(client_id, None)
        if self.host.is_ready():
            self._start_capture(client_id)

    def _level(self, client_id: str, rms: float) -> None:
        self.echo.level(client_id, rms, time.monotonic())
        if client_id in self.captures:  # not a late one from a stopped capture
            self.main_window.levels.set_level(client_id, rms)

    def _capture_state(self, client_id: str, state: str, detail: str) -> None:
        if self.captures.get(client_id) is None:
            return
        self.capture_states[client_id] = (state, detail)
        if state == CaptureState.RUNNING:
            self.capture_problems.pop(client_id, None)
        if state == CaptureState.RETRYING and self.capture_problems.get(client_id) != detail:
            self.capture_problems[client_id] = detail
            self._problem(f"{LABELS.get(client_id, client_id)} unavailable", f"{detail}; retrying")
        self.refresh_status()

    # -- engine events -------------------------------------------------------------------------

    def _host_state(self, state: str, detail: str) -> None:
        self.host_detail = detail
        if state == HostState.READY and not self.quitting:
            for cid, action in (("user", self.actions.mic), ("system", self.actions.system)):
                if action.isChecked():
                    self._start_capture(cid)
        if state == HostState.ERROR:
            self._problem("Whisper Desktop could not start transcribing", detail)
        self.refresh_status()

    def _progress(self, message: str) -> None:
        self.host_detail = message
        log.info("%s", message)
        self.refresh_status()

    def _transcript(self, ev: TranscriptEvent) -> None:
        for shown in self.echo.transcript(ev, time.monotonic()):
            self._show_transcript(shown)

    def _echo_tick(self) -> None:
        for shown in self.echo.tick(time.monotonic()):
            self._show_transcript(shown)

    def _show_transcript(self, ev: TranscriptEvent) -> None:
        log.debug(
            "%s %+.2fs audio %.2f-%.2f final=%s %r",
            ev.client_id,
            time.time() - ev.timestamp,
            ev.start,
            ev.end,
            ev.final,
            ev.text,
        )
        self.overlay.add_text(ev.client_id, ev.text, ev.final, ev.start)
        self.recorder.add(ev.client_id, ev.text, ev.start, ev.end, ev.final)
        if self.history_window is not None and self.history_window.isVisible():
            self._history_refresh.start()

    def _line_finished(self, client_id: str, label: str, color: str, text: str) -> None:
        """A source's utterance is finished: to the scrollback and the live text files."""
        self.scrollback.add_line(client_id, label, color, text)
        if self.live_text is None:
            return
        try:
            self.live_text.add_line(label, text)
            self._live_text_failed = False
        except OSError as exc:
            if not self._live_text_failed:  # once until a write works again
                self._problem("Could not write the live text file", str(exc))
            self._live_text_failed = True

    def _set_live_text(self) -> None:
        s = self.settings
        if not s.live_text_enabled:
            self.live_text = None
            return
        folder = Path(s.live_text_folder) if s.live_text_folder else self.data_dir / LIVE_TEXT_DIR
        if self.live_text is not None and self.live_text.folder == folder:
            self.live_text.lines = s.overlay_lines
        else:
            self.live_text = LiveTextFiles(folder, s.overlay_lines)
        log.info("live text files in %s", folder)

    def _utterance(self, ev: UtteranceEvent) -> None:
        """The final pass's text of a finished utterance: it replaces the live text."""
        log.debug("%s final text %.2f-%.2f %r", ev.client_id, ev.start, ev.end, ev.text)
        if not self.echo.keeps_revision(ev):
            return  # the live text was the system audio's echo: so is this
        self.overlay.revise(ev.client_id, ev.start, ev.text)
        if self.recorder.revise(ev.client_id, ev.text, ev.start):
            if self.history_window is not None and self.history_window.isVisible():
                self._history_refresh.start()

    def _notice(self, ev: NoticeEvent) -> None:
        log.info("%s: %s", ev.client_id, ev.message)
        if ev.code == "lag_skip" and ev.client_id in LABELS:
            self._problem("Falling behind", ev.message)

    def _session_opened(self, client_id: str, local: bool) -> None:
        self.recorder.session_started(client_id)
        log.info("session %s opened (%s)", client_id, "local" if local else "remote")

    def _session_closed(self, client_id: str) -> None:
        self.recorder.session_closed(client_id)
        self.overlay.source_closed(client_id)

    def _clients(self, infos: list) -> None:
        remote = sorted(i.client_id for i in infos if i.client_id not in LABELS)
        if remote != self.remote_clients:
            self.remote_clients = remote
            self.refresh_status()

    def _reconfigured(self, model: str, language: str) -> None:
        self.recorder.model, self.recorder.language = model, language
        self.refresh_status()

    # -- status --------------------------------------------------------------------------------

    def status_info(self) -> StatusInfo:
        h = self.host
        detail = self.host_detail
        if h.state == HostState.ERROR:
            state = TrayState.ERROR
        elif h.state in (HostState.IDLE, HostState.LOADING, HostState.STOPPING, HostState.STOPPED):
            state = TrayState.LOADING
        else:
            problems = [
                f"{LABELS.get(cid, cid)}: {d}"
                for cid, (st, d) in self.capture_states.items()
                if st == CaptureState.RETRYING
            ]
            on = [_tr(LABELS[c]) for c in ("user", "system") if c in self.captures]
            if problems:
                state, detail = TrayState.ERROR, "; ".join(problems)
            elif not on:
                state, detail = (
                    TrayState.PAUSED,
                    QCoreApplication.translate("DesktopApp", "Microphone and system audio are off"),
                )
            else:
                listening = QCoreApplication.translate("DesktopApp", "Listening to: %1").replace(
                    "%1", ", ".join(on).lower()
                )
                state, detail = TrayState.LISTENING, listening
        server = h.server_info
        if server.error:
            url = f"not running ({server.error})"
        else:
            url = server.ws_url
        return StatusInfo(
            state=state,
            detail=detail,
            model=h.model or self.settings.model,
            language=h.language or self.settings.effective_language,
            server_url=url,
            clients=len(self.remote_clients),
            device=", ".join(x for x in (h.device, h.dtype) if x),
        )

    def refresh_status(self) -> None:
        info = self.status_info()
        self.overlay.set_idle_text(_tr(IDLE_TEXTS.get(info.state, "")))
        if self.tray is not None:
            self.tray.update_status(info)
        else:
            self.actions.status.setText(info.title())
        self.main_window.update_status(info)
        if self.connect_dialog is not None and self.connect_dialog.isVisible():
            self._fill_connect_dialog()

    def _problem(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        if self.tray is not None:
            self.tray.notify(title, message, error=True)

    # -- windows -------------------------------------------------------------------------------

    def toggle_main_window(self) -> None:
        if self.main_window.isVisible():
            self.main_window.hide()
        else:
            self.show_main_window()

    def show_main_window(self) -> None:
        self.main_window.show()
        self.main_window.raise_()
        self.main_window.activateWindow()

    def _main_window_closed(self) -> None:
        if self.tray is None and not self.quitting:
            self.quit()  # the window is the app when there is no tray

    def on_message(self, message: str) -> None:
        """A second launch asked us to show ourselves, or sent a hotkey command."""
        log.info("another launch asked: %s", message)
        if message == TOGGLE_CAPTIONS:
            self.actions.captions.toggle()
        elif message == TOGGLE_MIC:
            self.actions.mic.toggle()
        elif message == SHOW:
            self.show_main_window()
            if self.actions.captions.isChecked():
                self.overlay.set_captions_visible(True)
        else:
            log.warning("unknown command from another launch: %r", message)

    def set_captions(self, on: bool) -> None:
        self.overlay.set_captions_visible(on)
        if self.settings.show_captions != on:
            self._persist({"show_captions": on})

    def show_history(self) -> None:
        if self.history_window is None:
            self.history_window = HistoryWindow(
                self.store, open_sessions=self.recorder.open_session_ids
            )
        self.history_window.refresh()
        self.history_window.show()
        self.history_window.raise_()

    def show_scrollback(self) -> None:
        self.scrollback.show()
        self.scrollback.raise_()
        self.scrollback.activateWindow()

    def _refresh_history(self) -> None:
        if self.history_window is not None and self.history_window.isVisible():
            self.history_window.refresh()

    def show_connect(self) -> None:
        if self.connect_dialog is None:
            self.connect_dialog = ConnectDialog()
            self.connect_dialog.enable_lan_requested.connect(self._enable_lan)
        self._fill_connect_dialog()
        self.connect_dialog.show()
        self.connect_dialog.raise_()

    def _fill_connect_dialog(self) -> None:
        info = self.host.server_info
        note = ""
        if not self.settings.server_enabled:
            note = "The server is off: turn it on in Settings to connect other devices."
        elif info.error:
            note = f"The server is not running: {info.error}"
        elif not info.running:
            note = "The server is starting…"
        self.connect_dialog.set_addresses(
            info.lan_url if not note else "",
            info.ws_url,
            info.token or self.settings.token,
            note,
            fingerprint=info.fingerprint if not note else "",
        )

    def _enable_lan(self) -> None:
        new = self.settings.replace(lan_enabled=True, server_enabled=True)
        if self.confirm_server_restart(self.settings.changed_fields(new), self.connect_dialog):
            self.apply_settings(new)

    def show_settings(self) -> None:
        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            return
        listers = self.device_listers or _device_listers()
        dialog = SettingsDialog(
            self.settings,
            *listers,
            list_installed=self.model_lister,
            applier=self.apply_edited_settings,
        )
        self.settings_dialog = dialog
        dialog.show()

    # -- settings ------------------------------------------------------------------------------

    def apply_edited_settings(self, started: Settings, edited: Settings) -> bool:
        """The settings dialog's OK/Apply: only the fields edited in the dialog change (the
        overlay may have moved meanwhile); a server restart that drops clients asks first."""
        changed = started.changed_fields(edited)
        if not self.confirm_server_restart(changed, self.settings_dialog):
            return False
        if "model" in changed and not self.fetch_model(edited.model):
            return False
        self.apply_settings(self.settings.replace(**{n: getattr(edited, n) for n in changed}))
        return True

    def fetch_model(self, spec: str) -> bool:
        """Download an official model that is not here yet, with a progress dialog that can be
        cancelled; False when cancelled or failed (then the model setting stays as it was)."""
        if spec not in official_names():
            return True
        try:
            if spec in self.model_lister():
                return True
            resolved = self.model_resolver(spec)
        except Exception as exc:  # the engine says what is wrong when it loads the model
            log.warning("could not look for model %s: %s", spec, exc)
            return True
        if resolved.kind != "official" or not resolved.url or resolved.path.is_file():
            return True
        dialog = DownloadDialog(DownloadThread(resolved), resolved.name, self.settings_dialog)
        self.download_dialog = dialog
        outcome = dialog.run()
        self.download_dialog = None
        if outcome == "failed":
            self._problem("Could not download the model", dialog.error)
        dialog.deleteLater()
        return outcome == "finished"

    def confirm_server_restart(self, changed: set[str], parent: QWidget | None = None) -> bool:
        """Ask before a change that restarts the server while remote clients are connected."""
        clients = len(self.remote_clients)
        if not (changed & SERVER_FIELDS) or clients == 0:
            return True
        text = (
            QCoreApplication.translate(
                "DesktopApp", "Restarting the server disconnects the %1 connected remote client."
            )
            if clients == 1
            else QCoreApplication.translate(
                "DesktopApp", "Restarting the server disconnects the %1 connected remote clients."
            )
        ).replace("%1", str(clients))
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            QCoreApplication.translate("DesktopApp", "Restart the server?"),
            text,
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            parent,
        )
        box.setObjectName("dropClientsWarning")
        box.button(QMessageBox.StandardButton.Ok).setText(
            QCoreApplication.translate("DesktopApp", "Restart the server")
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.warning_box = box
        answer = box.exec()
        self.warning_box = None
        confirmed = answer == QMessageBox.StandardButton.Ok
        log.info("restart the server with %d clients connected: %s", clients, confirmed)
        return confirmed

    def apply_settings(self, new: Settings) -> None:
        """Apply edited settings live and persist what changed."""

        old = self.settings
        changed = old.changed_fields(new)
        if not changed:
            return
        self.settings = new
        self.echo.enabled = new.echo_cancellation
        self._persist({name: getattr(new, name) for name in changed}, update=False)
        if "model" in changed or new.effective_language != old.effective_language:
            model = new.model if "model" in changed else None
            language = (
                new.effective_language if new.effective_language != old.effective_language else None
            )
            self.host.reconfigure(model, language)
        for cid, enabled, device, task in (
            ("user", "mic_enabled", "mic_device", "mic_task"),
            ("system", "system_enabled", "loopback_speaker", "system_task"),
        ):
            action = self.actions.mic if cid == "user" else self.actions.system
            if enabled in changed:
                action.setChecked(getattr(new, enabled))  # starts or stops the capture
            elif task in changed and getattr(new, enabled):  # a new session for the new task
                self._stop_capture(cid)
                if self.host.is_ready():
                    self._start_capture(cid)
            elif (device in changed or "echo_cancellation" in changed) and getattr(new, enabled):
                self._restart_capture(cid)
        if "device" in changed:  # the engine takes its device when it starts
            log.info("device %s: used from the next start", new.device)
            if self.tray is not None:
                self.tray.notify(
                    "Device changed", f"Whisper Desktop runs on {new.device} from its next start."
                )
        if "final_pass" in changed:  # so does the final pass
            log.info("final pass %s: from the next start", "on" if new.final_pass else "off")
        if changed & SERVER_FIELDS:  # queued behind a start in progress
            self.host.restart_server(new.host_config(self._tls_dir))
        if "history_enabled" in changed:
            self.recorder.set_enabled(new.history_enabled)
        if "autostart" in changed:
            self._set_autostart(new.autostart)
        if changed & OVERLAY_FIELDS:
            self.overlay.apply_style(self._overlay_style())
            self.actions.captions.setChecked(new.show_captions)
        if changed & SCROLLBACK_FIELDS:
            self.scrollback.set_options(
                new.scrollback_minutes,
                new.overlay_font_family,
                new.overlay_font_size,
                new.scrollback_screen,
            )
        if changed & LIVE_TEXT_FIELDS:
            self._set_live_text()
        self.refresh_status()

    def _set_autostart(self, on: bool) -> None:
        try:
            autostart.set_enabled(on)
        except OSError as exc:
            self._problem("Could not change the autostart entry", str(exc))
            self._persist({"autostart": not on})

    def _persist(self, changes: dict[str, Any], update: bool = True) -> None:
        """Save only these fields: command-line overrides of other fields stay unsaved."""

        if update:
            self.settings = self.settings.replace(**changes)
        stored = load_settings(self.qsettings).replace(**changes)
        save_settings(self.qsettings, stored)

    def _overlay_style(self) -> OverlayStyle:
        s = self.settings
        return OverlayStyle(
            font_family=s.overlay_font_family,
            font_size=s.overlay_font_size,
            opacity=s.overlay_opacity,
            click_through=s.overlay_click_through,
            user_color=s.overlay_user_color,
            system_color=s.overlay_system_color,
            fade_seconds=s.overlay_fade_seconds,
            clear_seconds=s.overlay_clear_seconds,
            lines_per_source=s.overlay_lines,
            outline_width=s.overlay_outline_width,
            outline_color=s.overlay_outline_color,
            background_color=s.overlay_background_color,
        )

    def _screens(self) -> tuple[list[ScreenInfo], ScreenInfo]:
        screens = [screen_info(s) for s in QGuiApplication.screens()]
        primary = QGuiApplication.primaryScreen()
        if primary is None:  # no screen at all (yet): a stand-in
            fallback = ScreenInfo("none", (0, 0, 1280, 800), (0, 0, 1280, 800))
            return screens or [fallback], fallback
        return screens, screen_info(primary)

    def _place_overlay(self) -> None:
        screens, primary = self._screens()
        rect, screen = choose_rect(
            parse_positions(self.settings.overlay_positions),
            self.settings.overlay_screen,
            screens,
            primary,
            legacy=self.settings.overlay_geometry,
        )
        log.info("overlay on screen %s at %s", screen.key, rect)
        self._placed_rect = tuple(rect)
        self.overlay.setGeometry(QRect(*rect))

    def _save_overlay_geometry(self, geometry: tuple) -> None:
        rect = tuple(int(v) for v in geometry)
        if rect == getattr(self, "_placed_rect", None):
            # where _place_overlay put it (perhaps a fallback while its screen is unplugged):
            # not a choice of the user's, so the screen it was last put on stays remembered
            return
        self._placed_rect = None
        positions, key = remember(
            parse_positions(self.settings.overlay_positions), rect, self._screens()[0]
        )
        changes: dict[str, Any] = {"overlay_geometry": rect}
        if key:
            changes.update(overlay_positions=format_positions(positions), overlay_screen=key)
        if any(getattr(self.settings, k) != v for k, v in changes.items()):
            self._persist(changes)

    # -- debug state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        g = self.overlay.geometry()
        tray = menu = None
        if self.tray is not None:
            tg = self.tray.icon.geometry()
            tray = [tg.x(), tg.y(), tg.width(), tg.height()]
            m = self.tray.menu
            if m.isVisible():
                menu = {}
                for action in m.actions():
                    if action.isSeparator():
                        continue
                    r = m.actionGeometry(action).translated(m.pos())
                    menu[action.text()] = [r.x(), r.y(), r.width(), r.height()]
        info = self.status_info()
        server = self.host.server_info
        return {
            "pid": os.getpid(),
            "time": time.time(),
            "state": info.state,
            "detail": info.detail,
            "tooltip": info.tooltip(),
            "model": info.model,
            "language": info.language,
            "server": {"url": server.url, "ws_url": server.ws_url, "lan_url": server.lan_url},
            "remote_clients": self.remote_clients,
            "captures": {cid: list(st) for cid, st in self.capture_states.items()},
            "tray": tray,
            "tray_menu": menu,
            "main_window": self.main_window.isVisible(),
            "mic_enabled": self.actions.mic.isChecked(),
            "captions_enabled": self.actions.captions.isChecked(),
            "overlay": {
                "visible": self.overlay.isVisible(),
                "faded": self.overlay.faded(),
                "geometry": [g.x(), g.y(), g.width(), g.height()],
                "sources": self.overlay.snapshot(),
            },
            "echo": self.echo.stats(),
            "scrollback": {
                "visible": self.scrollback.isVisible(),
                "full_screen": self.scrollback.isFullScreen(),
                "lines": self.scrollback.lines(),
            },
            "quitting": self.quitting,
        }

    def write_state(self, final: bool = False) -> None:
        if not self._state_file:
            return
        data = self.state()
        data["final"] = final
        tmp = f"{self._state_file}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, self._state_file)
        except OSError as exc:
            log.debug("state file: %s", exc)
