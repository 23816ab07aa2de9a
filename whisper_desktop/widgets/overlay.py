"""The caption overlay: a frameless, translucent, always-on-top window with each source's lines.

What the rows hold (labels, colours, when text starts afresh or clears) is
:class:`whisper_desktop.widgets.caption_rows.CaptionBoard`; this module draws it. The panel fits
its rows and sits at the bottom of the window; the rest of the window is masked away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QRegion,
)
from PySide6.QtWidgets import QMenu, QSizeGrip, QWidget

from whisper_desktop.widgets.caption_rows import (
    REMOTE_COLORS,
    CaptionBoard,
    CaptionRow,
    RowTiming,
)
from whisper_desktop.widgets.outlined_text import Outline, draw_text

__all__ = ["REMOTE_COLORS", "CaptionOverlay", "OverlayStyle", "default_geometry"]

FADE_OUT_SECONDS = 1.0
LABEL_COLUMN_CHARS = 8  # the label column is this many average characters wide...
LABEL_COLUMN_SHARE = 0.25  # ...but never more than this share of the window
WIDEST_LABELS = ("System", "Phone 10", "Browser 10")  # short names (source_names) fit whole
PAD = 12
ROW_GAP = PAD // 2
LISTENING = "Listening…"
MIN_LINES, MAX_LINES = 1, 6  # lines per source
FIT_SOURCES = 2  # the window grows to fit this many sources at the chosen lines
ANNOUNCED_KEPT = 20


@dataclass(frozen=True)
class OverlayStyle:
    font_family: str = "DejaVu Sans"
    font_size: int = 20
    opacity: float = 0.85  # of the background panel
    background_color: str = "#101014"
    outline_width: int = 0  # around each glyph, in pixels; 0 = a soft shadow
    outline_color: str = "#000000"
    click_through: bool = False
    user_color: str = "#4da6ff"
    system_color: str = "#ffd633"
    fade_seconds: float = 12.0  # 0 = never fade
    lines_per_source: int = 2
    pause_seconds: float = 3.0  # a new utterance after this much silence starts a fresh row
    clear_seconds: float = 10.0  # a row's text clears this long after its last words; 0 = keep

    @property
    def timing(self) -> RowTiming:
        return RowTiming(self.pause_seconds, self.clear_seconds)

    @property
    def lines(self) -> int:
        return max(MIN_LINES, min(MAX_LINES, self.lines_per_source))

    @property
    def outline(self) -> Outline:
        return Outline(max(0, self.outline_width), self.outline_color)


@dataclass(frozen=True)
class OverlayLayout:
    """Where things go: the label and text columns, the panel, and each shown row's lines."""

    label_width: int
    text_x: int
    text_width: int
    panel: QRect
    rows: list[tuple[CaptionRow, list[str]]]
    placeholder: str  # shown instead of rows when there are none; "" otherwise


class CaptionOverlay(QWidget):
    """Shows the latest lines of every source in its colour; drag to move, grip to resize,
    right-click for a menu (its choices are signals; the controller acts on them).

    Screen readers get each finished line whole (``label: text``): it becomes the widget's
    accessible description and is announced, never the words as they arrive."""

    geometry_changed = Signal(tuple)  # (x, y, w, h), after moves/resizes settle
    line_finished = Signal(str, str, str, str)  # client_id, label, colour, the utterance's text
    settings_requested = Signal()
    history_requested = Signal()
    scrollback_requested = Signal()
    hide_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self,
        style: OverlayStyle | None = None,
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._style = style or OverlayStyle()
        self._clock = clock
        self._board = CaptionBoard(
            self._style.user_color, self._style.system_color, self._style.timing, clock
        )
        self._idle_text = LISTENING
        self._alpha = 1.0  # fade factor
        self._last_activity = clock()
        self._drag_offset: QPoint | None = None
        self._wanted_visible = False
        self._mask_rect = QRect()
        self._announced: list[str] = []
        self.setWindowTitle(self.tr("Whisper Desktop captions"))
        self.setAccessibleName(self.windowTitle())
        self.setObjectName("captionOverlay")
        self.setWindowFlags(
            Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.Tool
            | Qt.WindowType.WindowDoesNotAcceptFocus
        )
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setMinimumSize(240, 60)
        self._grip = QSizeGrip(self)
        self._grip.resize(16, 16)
        self._settle = QTimer(self, singleShot=True, interval=400)
        self._settle.timeout.connect(self._emit_geometry)
        self._fade_timer = QTimer(self, interval=100)
        self._fade_timer.timeout.connect(self._tick)
        self._fade_timer.start()
        self.resize(760, 150)
        self.apply_style(self._style)

    # -- public API ----------------------------------------------------------------------------

    @property
    def style_options(self) -> OverlayStyle:
        return self._style

    def apply_style(self, style: OverlayStyle) -> None:
        old, self._style = self._style, style
        self._board.set_local_colors(style.user_color, style.system_color)
        self._board.timing = style.timing
        self._set_click_through(style.click_through)
        if (old.lines, old.font_family, old.font_size) != (
            style.lines,
            style.font_family,
            style.font_size,
        ):
            self.fit_lines()  # a size the user gave stays until the lines need more
        self._refresh()

    def height_for_lines(self, sources: int = FIT_SOURCES) -> int:
        """The window height that shows ``sources`` sources at the style's lines each."""
        line_h = QFontMetrics(self._fonts()[0]).lineSpacing()
        return 2 * PAD + sources * self._style.lines * line_h + (sources - 1) * ROW_GAP

    def announced_lines(self) -> list[str]:
        """The finished lines given to screen readers, oldest first (the last few)."""
        return list(self._announced)

    def set_idle_text(self, text: str) -> None:
        """What the panel says while no source has text ("Listening…", "Loading the model…")."""
        if text != self._idle_text:
            self._idle_text = text
            self._refresh()

    def idle_text(self) -> str:
        return self._idle_text

    def set_captions_visible(self, visible: bool) -> None:
        """The user's choice ("Show captions"); idle fading hides and re-shows on its own."""
        self._wanted_visible = visible
        if visible:
            self._wake()
        else:
            self.hide()

    def captions_visible(self) -> bool:
        return self._wanted_visible

    def add_text(self, client_id: str, text: str, final: bool, start: float | None = None) -> None:
        """Append newly committed text of a source; ``final`` closes its current utterance
        (``start``: its stream seconds, which name the utterance for :meth:`revise`)."""
        row = self._board.add_text(client_id, text, final, start)
        if text.strip():
            self._wake()
        self._refresh()
        if final and row.finished:
            self._announce(f"{row.label}: {row.finished}")
            self.line_finished.emit(row.client_id, row.label, row.color, row.finished)

    def revise(self, client_id: str, start: float, text: str) -> None:
        """The final pass's text of a finished utterance replaces that line's live text."""
        if self._board.revise(client_id, start, text):
            self._refresh()

    def source_closed(self, client_id: str) -> None:
        """A session ended: keep its text until it clears or the overlay fades, then forget it."""
        self._board.close(client_id)

    def clear(self) -> None:
        self._board.clear()
        self._refresh()

    def source(self, client_id: str) -> CaptionRow:
        return self._board.row(client_id)

    def label_for(self, client_id: str) -> str:
        return self._board.row(client_id).label

    def color_for(self, client_id: str) -> QColor:
        return QColor(self._board.row(client_id).color)

    def ordered_sources(self) -> list[CaptionRow]:
        """Microphone first, system audio second, remote clients in order of arrival."""
        return self._board.rows()

    def snapshot(self) -> dict[str, dict[str, str]]:
        """What is on screen now, per source: label, colour and text (tests, debug state)."""
        return {
            r.client_id: {"label": r.label, "color": QColor(r.color).name(), "text": r.text}
            for r in self._board.rows()
        }

    def faded(self) -> bool:
        return self._alpha <= 0.0

    def build_menu(self) -> QMenu:
        """The right-click menu; each choice emits a signal."""
        menu = QMenu(self)
        menu.addAction(self.tr("Settings…"), self.settings_requested.emit)
        menu.addAction(self.tr("History…"), self.history_requested.emit)
        menu.addAction(self.tr("Scrollback…"), self.scrollback_requested.emit)
        menu.addAction(self.tr("Hide captions"), self.hide_requested.emit)
        menu.addSeparator()
        menu.addAction(self.tr("Quit"), self.quit_requested.emit)
        return menu

    def compute_layout(self) -> OverlayLayout:
        text_font, label_font = self._fonts()
        tm, lm = QFontMetrics(text_font), QFontMetrics(label_font)
        label_w = min(
            max(
                *(lm.horizontalAdvance(name) for name in WIDEST_LABELS),
                lm.averageCharWidth() * LABEL_COLUMN_CHARS,
            ),
            int(self.width() * LABEL_COLUMN_SHARE),
        )
        text_x = PAD + label_w + PAD
        text_w = max(40, self.width() - text_x - PAD)
        line_h = tm.lineSpacing()
        rows: list[tuple[CaptionRow, list[str]]] = []
        shown, n_lines = self._visible_rows(line_h, self.height() - 2 * PAD)
        for row in shown:
            rows.append((row, self._wrap(row.text, tm, text_w)[-n_lines:]))
        placeholder = "" if rows else self._idle_text
        if rows:
            content_h = sum(len(lines) * line_h for _, lines in rows) + ROW_GAP * (len(rows) - 1)
        else:
            content_h = line_h
        panel_h = min(self.height(), content_h + 2 * PAD)
        panel = QRect(0, self.height() - panel_h, self.width(), panel_h)
        return OverlayLayout(label_w, text_x, text_w, panel, rows, placeholder)

    # -- internals -----------------------------------------------------------------------------

    def _announce(self, line: str) -> None:
        """A finished line for assistive tech: the accessible description (what a screen reader
        reads of the overlay; setting it sends DescriptionChanged) and an announcement, as a
        polite live region would give it."""
        self._announced = [*self._announced, line][-ANNOUNCED_KEPT:]
        self.setAccessibleDescription(line)
        if QAccessible.isActive():
            QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self, line))

    def fit_lines(self) -> None:
        """Taller when the lines need it, keeping the bottom edge where it was."""
        need = self.height_for_lines()
        if self.height() >= need:
            return
        g = self.geometry()
        self.setGeometry(g.x(), g.bottom() + 1 - need, g.width(), need)

    def _refresh(self) -> None:
        """Fit the window's visible part (its mask) to the panel and repaint."""
        panel = self.compute_layout().panel
        if panel != self._mask_rect:
            self._mask_rect = panel
            self.setMask(QRegion(panel))
            self._grip.move(
                self.width() - self._grip.width() - 2, self.height() - self._grip.height() - 2
            )
        self.update()

    def _set_click_through(self, on: bool) -> None:
        if bool(self.windowFlags() & Qt.WindowType.WindowTransparentForInput) == on:
            return
        was_visible = self.isVisible()
        self.hide()
        # the attribute first: Qt keeps the input flag while the widget ignores the mouse
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, on)
        flags = self.windowFlags()
        if on:
            flags |= Qt.WindowType.WindowTransparentForInput
        else:
            flags &= ~Qt.WindowType.WindowTransparentForInput
        self.setWindowFlags(flags)
        self._grip.setVisible(not on)
        if was_visible:
            self.show()

    def _wake(self) -> None:
        self._last_activity = self._clock()
        self._alpha = 1.0
        if self._wanted_visible and not self.isVisible():
            self.show()
        self.update()

    def _tick(self) -> None:
        if self._board.tick():
            self._refresh()
        elif any(self._board.alpha(r) < 1.0 for r in self._board.shown_rows()):
            self.update()  # rows near their clearing time fade
        fade = self._style.fade_seconds
        if fade <= 0 or not self.isVisible():
            return
        idle = self._clock() - self._last_activity
        if idle < fade:
            return
        alpha = max(0.0, 1.0 - (idle - fade) / FADE_OUT_SECONDS)
        if alpha != self._alpha:
            self._alpha = alpha
            self.update()
        if alpha <= 0.0:
            self._board.forget_closed()
            self._refresh()
            self.hide()  # no compositor needed to be invisible

    def _emit_geometry(self) -> None:
        g = self.geometry()
        self.geometry_changed.emit((g.x(), g.y(), g.width(), g.height()))

    def _fonts(self) -> tuple[QFont, QFont]:
        text_font = QFont(self._style.font_family, self._style.font_size)
        label_font = QFont(self._style.font_family, max(8, int(self._style.font_size * 0.6)))
        label_font.setBold(True)
        return text_font, label_font

    @staticmethod
    def _wrap(text: str, metrics: QFontMetrics, width: int) -> list[str]:
        lines: list[str] = []
        line = ""
        for word in text.split():
            candidate = f"{line} {word}" if line else word
            if line and metrics.horizontalAdvance(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        if line:
            lines.append(line)
        return lines

    def _visible_rows(self, line_h: int, height: int) -> tuple[list[CaptionRow], int]:
        """The rows to draw and lines for each: fewer lines first, then the stalest go."""
        rows = self._board.shown_rows()
        if not rows:
            return [], self._style.lines
        line_h = max(1, line_h)
        gaps = ROW_GAP * (len(rows) - 1)
        lines = max(1, min(self._style.lines, (height - gaps) // (len(rows) * line_h)))
        fits = max(1, (height + ROW_GAP) // (lines * line_h + ROW_GAP))
        if len(rows) <= fits:
            return rows, lines
        keep = {r.client_id for r in sorted(rows, key=lambda r: r.updated)[-fits:]}
        return [r for r in rows if r.client_id in keep], lines

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        lay = self.compute_layout()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        p.fillRect(self.rect(), Qt.GlobalColor.transparent)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        panel = QColor(self._style.background_color)
        panel.setAlphaF(max(0.0, min(1.0, self._style.opacity * self._alpha)))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(panel)
        p.drawRoundedRect(lay.panel, 10, 10)

        text_font, label_font = self._fonts()
        tm, lm = QFontMetrics(text_font), QFontMetrics(label_font)
        y = lay.panel.top() + PAD
        if lay.placeholder:
            hint = QColor(200, 200, 200)
            hint.setAlphaF(0.8 * self._alpha)
            italic = QFont(text_font)
            italic.setItalic(True)
            p.setFont(italic)
            p.setPen(hint)
            p.drawText(lay.text_x, y + tm.ascent(), lay.placeholder)
        outline = self._style.outline
        for row, lines in lay.rows:
            alpha = self._alpha * self._board.alpha(row)
            color = QColor(row.color)
            color.setAlphaF(alpha)
            label = lm.elidedText(row.label, Qt.TextElideMode.ElideRight, lay.label_width)
            label_outline = Outline((outline.width + 1) // 2, outline.color)
            # on the text's first baseline
            draw_text(p, PAD, y + tm.ascent(), label, label_font, color, label_outline)
            for line in lines:
                draw_text(p, lay.text_x, y + tm.ascent(), line, text_font, color, outline)
                y += tm.lineSpacing()
            y += ROW_GAP
        p.end()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(760, 150)

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._grip.move(
            self.width() - self._grip.width() - 2, self.height() - self._grip.height() - 2
        )
        self._refresh()
        self._settle.start()
        super().resizeEvent(event)

    def moveEvent(self, event) -> None:  # noqa: N802
        self._settle.start()
        super().moveEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        menu = self.build_menu()
        menu.exec(event.globalPos())
        menu.deleteLater()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            handle = self.windowHandle()
            if handle is not None and handle.startSystemMove():
                return
            self._drag_offset = event.globalPosition().toPoint() - self.frameGeometry().topLeft()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_offset is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.move(event.globalPosition().toPoint() - self._drag_offset)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_offset = None
        super().mouseReleaseEvent(event)


def default_geometry(available: QRect, width: int = 760, height: int = 240) -> QRect:
    """Bottom centre of the screen, above the panel."""
    w = min(width, available.width() - 40)
    x = available.x() + (available.width() - w) // 2
    y = available.y() + available.height() - height - 60
    return QRect(x, y, w, height)
