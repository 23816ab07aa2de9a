"""The scrollback window: the last minutes of finished caption lines, large, each source in its
colour; it can go full screen on a chosen screen (a second monitor, a projector).

It is a plain text view, so screen readers and the keyboard can read back through it.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication, QKeyEvent, QKeySequence, QScreen, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from whisper_desktop.widgets.scrollback_lines import ScrollbackLines

PRUNE_MS = 10_000
FULL_SCREEN_SCALE = 1.5  # the text is this much larger in full screen


class ScrollbackWindow(QWidget):
    def __init__(
        self,
        minutes: int = 10,
        font_family: str = "DejaVu Sans",
        font_size: int = 20,
        screen_name: str = "",
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scrollbackWindow")
        self.setWindowTitle(self.tr("Caption scrollback"))
        self._lines = ScrollbackLines(minutes, clock)
        self._font = (font_family, font_size)
        self.screen_name = screen_name  # "" = the screen the window is on
        self.view = QTextBrowser()
        self.view.setObjectName("scrollbackText")
        self.view.setAccessibleName(self.tr("Caption scrollback"))
        self.view.setOpenLinks(False)
        self.view.document().setDocumentMargin(16)
        self.view.setStyleSheet("QTextBrowser { background: #0c0c10; color: #e8e8e8; }")
        self.span = QLabel()
        self.full_screen = QPushButton(self.tr("Full screen"), checkable=True)
        self.full_screen.setToolTip(self.tr("F11 or Esc leaves full screen"))
        self.full_screen.toggled.connect(self.set_full_screen)
        bar = QHBoxLayout()
        bar.addWidget(self.span, 1)
        bar.addWidget(self.full_screen)
        self._bar = QWidget()
        self._bar.setLayout(bar)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.addWidget(self._bar)
        root.addWidget(self.view, 1)
        QShortcut(QKeySequence(Qt.Key.Key_F11), self, self.full_screen.toggle)
        self._prune = QTimer(self, interval=PRUNE_MS)
        self._prune.timeout.connect(self._prune_old)
        self._prune.start()
        self.resize(900, 560)
        self._apply_font()
        self._show_span()

    # -- what it shows -------------------------------------------------------------------------

    def add_line(self, client_id: str, label: str, color: str, text: str) -> None:
        if text.strip():
            self._lines.add(client_id, label, color, text)
            self._render()

    def lines(self) -> list[str]:
        """The lines shown, as ``label: text``, oldest first."""
        return [f"{line.label}: {line.text}" for line in self._lines.lines()]

    def set_options(self, minutes: int, font_family: str, font_size: int, screen_name: str) -> None:
        self._lines.minutes = minutes
        self._font = (font_family, font_size)
        self.screen_name = screen_name
        self._lines.prune()
        self._apply_font()
        self._show_span()
        self._render()
        if self.isFullScreen():
            self._go_full_screen()  # perhaps on another screen now

    # -- full screen ---------------------------------------------------------------------------

    def chosen_screen(self) -> QScreen | None:
        """The screen named in the settings when it is here, else the window's own."""
        for screen in QGuiApplication.screens():
            if screen.name() == self.screen_name:
                return screen
        return self.screen() or QGuiApplication.primaryScreen()

    def set_full_screen(self, on: bool) -> None:
        if on:
            self._go_full_screen()
        else:
            self.showNormal()
        self._bar.setVisible(not on)
        self._apply_font()
        if self.full_screen.isChecked() != on:
            self.full_screen.setChecked(on)

    def _go_full_screen(self) -> None:
        screen = self.chosen_screen()
        if self.isFullScreen():
            self.showNormal()
        if screen is not None:
            if self.windowHandle() is None:
                self.create()
            self.windowHandle().setScreen(screen)
            self.setGeometry(screen.geometry())
        self.showFullScreen()
        self.raise_()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        if event.key() == Qt.Key.Key_Escape and self.isFullScreen():
            self.set_full_screen(False)
            return
        super().keyPressEvent(event)

    # -- internals -----------------------------------------------------------------------------

    def _apply_font(self) -> None:
        family, size = self._font
        scale = FULL_SCREEN_SCALE if self.isFullScreen() else 1.0
        self.view.setFont(QFont(family, max(8, round(size * scale))))

    def _show_span(self) -> None:
        minutes = str(self._lines.minutes)
        self.span.setText(self.tr("Finished lines of the last %1 minutes").replace("%1", minutes))

    def _prune_old(self) -> None:
        if self._lines.prune():
            self._render()

    def _render(self) -> None:
        bar = self.view.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 4  # at the end: stay there
        kept = bar.value()
        parts = []
        for line in self._lines.lines():
            color = html.escape(line.color)
            parts.append(
                f'<p style="margin: 0 0 0.35em 0"><b style="color: {color}">'
                f"{html.escape(line.label)}</b>&nbsp; "
                f'<span style="color: {color}">{html.escape(line.text)}</span></p>'
            )
        self.view.setHtml("".join(parts))
        bar.setValue(bar.maximum() if following else kept)
