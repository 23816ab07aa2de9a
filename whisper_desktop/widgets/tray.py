"""The app's actions, and the tray icon that offers them in its menu."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, Signal
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
            TrayState.LOADING: QCoreApplication.translate(
                "StatusInfo", "Whisper Desktop — loading"
            ),
            TrayState.LISTENING: QCoreApplication.translate(
                "StatusInfo", "Whisper Desktop — listening"
            ),
            TrayState.PAUSED: QCoreApplication.translate("StatusInfo", "Whisper Desktop — paused"),
            TrayState.ERROR: QCoreApplication.translate("StatusInfo", "Whisper Desktop — problem"),
        }
        return words.get(self.state, f"Whisper Desktop — {self.state}")

    def tooltip(self) -> str:
        lines = [self.title()]
        if self.detail:
            lines.append(self.detail)
        model_line = QCoreApplication.translate("StatusInfo", "Model: %1   Language: %2")
        lines.append(
            model_line.replace("%1", self.model or "—").replace("%2", self.language or "—")
        )
        if self.device:
            lines.append(
                QCoreApplication.translate("StatusInfo", "Device: %1").replace("%1", self.device)
            )
        lines.append(
            QCoreApplication.translate("StatusInfo", "Server: %1").replace(
                "%1", self.server_url or QCoreApplication.translate("StatusInfo", "off")
            )
        )
        lines.append(
            QCoreApplication.translate("StatusInfo", "Remote clients: %1").replace(
                "%1", str(self.clients)
            )
        )
        return "\n".join(lines)


class AppActions(QObject):
    """One set of actions shared by the tray menu and the fallback window."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status = QAction(StatusInfo().title(), self)
        self.status.setEnabled(False)
        self.mic = QAction(self.tr("Microphone"), self, checkable=True)
        self.mic.setToolTip(self.tr("Caption what the microphone hears (shown in blue)"))
        self.system = QAction(self.tr("System audio"), self, checkable=True)
        self.system.setToolTip(self.tr("Caption what the computer plays (shown in yellow)"))
        self.captions = QAction(self.tr("Show captions"), self, checkable=True)
        self.history = QAction(self.tr("Transcript history…"), self)
        self.scrollback = QAction(self.tr("Caption scrollback…"), self)
        self.connect_device = QAction(self.tr("Connect a device…"), self)
        self.settings = QAction(self.tr("Settings…"), self)
        self.quit = QAction(self.tr("Quit"), self)

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
            self.scrollback,
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
