"""The app's actions, and the tray icon that offers them in its menu."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from whisper_desktop.icons import app_icon, state_icon


class TrayState:
    LOADING = "loading"
    LISTENING = "listening"
    PAUSED = "paused"
    ERROR = "error"


@dataclass(frozen=True)
class StatusInfo:
    """Everything the tooltip and the status line show."""

    state: str = TrayState.LOADING
    detail: str = ""
    model: str = ""
    language: str = ""
    server_url: str = ""
    clients: int = 0  # remote clients connected
    device: str = ""  # where the model runs, e.g. "cuda, float16"; "" until it runs

    def title(self) -> str:
        words = {
            TrayState.LOADING: "loading",
            TrayState.LISTENING: "listening",
            TrayState.PAUSED: "paused",
            TrayState.ERROR: "problem",
        }
        return f"Whisper Desktop — {words.get(self.state, self.state)}"

    def tooltip(self) -> str:
        lines = [self.title()]
        if self.detail:
            lines.append(self.detail)
        lines.append(f"Model: {self.model or '—'}   Language: {self.language or '—'}")
        if self.device:
            lines.append(f"Device: {self.device}")
        lines.append(f"Server: {self.server_url or 'off'}")
        lines.append(f"Remote clients: {self.clients}")
        return "\n".join(lines)


class AppActions(QObject):
    """One set of actions shared by the tray menu and the fallback window."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status = QAction("Whisper Desktop — loading", self)
        self.status.setEnabled(False)
        self.mic = QAction("Microphone", self, checkable=True)
        self.mic.setToolTip("Caption what the microphone hears (shown in blue)")
        self.system = QAction("System audio", self, checkable=True)
        self.system.setToolTip("Caption what the computer plays (shown in yellow)")
        self.captions = QAction("Show captions", self, checkable=True)
        self.history = QAction("Transcript history…", self)
        self.connect_device = QAction("Connect a device…", self)
        self.settings = QAction("Settings…", self)
        self.quit = QAction("Quit", self)

    def menu_layout(self) -> list[QAction | None]:
        """The menu, top to bottom; None is a separator."""
        return [
            self.status,
            None,
            self.mic,
            self.system,
            self.captions,
            None,
            self.history,
            self.connect_device,
            self.settings,
            None,
            self.quit,
        ]

    def build_menu(self, menu: QMenu) -> QMenu:
        for action in self.menu_layout():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        return menu


class Tray(QObject):
    """The tray icon: state icon, tooltip, menu; a left click asks to show the captions."""

    clicked = Signal()

    def __init__(self, actions: AppActions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = actions.build_menu(QMenu())
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self._actions = actions
        self.info = StatusInfo()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def update_status(self, info: StatusInfo) -> None:
        self.info = info
        self.icon.setIcon(state_icon(info.state))
        self.icon.setToolTip(info.tooltip())
        self._actions.status.setText(info.title())

    def notify(self, title: str, message: str, error: bool = False) -> None:
        kind = (
            QSystemTrayIcon.MessageIcon.Warning
            if error
            else QSystemTrayIcon.MessageIcon.Information
        )
        if self.icon.isVisible() and self.icon.supportsMessages():
            self.icon.showMessage(title, message, kind, 6000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.clicked.emit()
