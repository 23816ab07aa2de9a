"""A small window with the tray menu's actions: used when there is no tray, or on request."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from whisper_desktop.icons import app_icon
from whisper_desktop.widgets.level_meter import LevelMeters
from whisper_desktop.widgets.tray import AppActions, StatusInfo


class MainWindow(QWidget):
    close_requested = Signal()  # the window was closed by the user

    def __init__(
        self,
        actions: AppActions,
        parent: QWidget | None = None,
        sources: dict[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Whisper Desktop"))
        self.setWindowIcon(app_icon())
        self.title = QLabel("<b>Whisper Desktop</b>")
        self.status = QLabel(objectName="statusLine", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        self.levels = LevelMeters(sources or {})
        layout.addWidget(self.levels)
        self.buttons: dict[str, QToolButton] = {}
        for action in actions.menu_layout():
            if action is None or action is actions.status:
                continue
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            layout.addWidget(button)
            self.buttons[action.text()] = button
        layout.addStretch(1)
        self.setMinimumWidth(320)

    def update_status(self, info: StatusInfo) -> None:
        self.status.setText(info.tooltip().replace("\n", "<br>"))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.close_requested.emit()
        super().closeEvent(event)
