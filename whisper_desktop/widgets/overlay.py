"""The caption overlay: a frameless, translucent, always-on-top window with each source's lines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizeGrip, QWidget

USER_ID = "user"
SYSTEM_ID = "system"
LOCAL_LABELS = {USER_ID: "You", SYSTEM_ID: "System"}
# Remote clients get these in order of appearance: far from the default blue and yellow.
REMOTE_COLORS = ["#5ee27a", "#ff6fcf", "#ff9f43", "#b388ff", "#4dd0e1", "#ff5c5c"]
FADE_OUT_SECONDS = 1.0
MAX_KEPT_CHARS = 600


@dataclass(frozen=True)
class OverlayStyle:
    font_family: str = "DejaVu Sans"
    font_size: int = 20
    opacity: float = 0.85  # of the background panel
    click_through: bool = False
    user_color: str = "#4da6ff"
    system_color: str = "#ffd633"
    fade_seconds: float = 12.0  # 0 = never fade
    lines_per_source: int = 2


@dataclass
class SourceState:
    client_id: str
    label: str
    color: QColor
    done: str = ""  # text of finished utterances, most recent last
    current: str = ""  # the utterance still being spoken
    updated: float = field(default_factory=time.monotonic)
    closed: bool = False

    @property
    def text(self) -> str:
        return " ".join(p for p in (self.done.strip(), self.current.strip()) if p)


class CaptionOverlay(QWidget):
    """Shows the latest lines of every source in its colour; drag to move, grip to resize."""

    geometry_changed = Signal(tuple)  # (x, y, w, h), after moves/resizes settle

    def __init__(self, style: OverlayStyle | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._style = style or OverlayStyle()
        self._sources: dict[str, SourceState] = {}
        self._next_remote = 0
        self._alpha = 1.0  # fade factor
        self._last_activity = time.monotonic()
        self._drag_offset: QPoint | None = None
        self._wanted_visible = False
        self.setWindowTitle("Whisper Desktop captions")
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
        self.apply_style(self._style)
        self.resize(760, 150)

    # -- public API ----------------------------------------------------------------------------

    @property
    def style_options(self) -> OverlayStyle:
        return self._style

    def apply_style(self, style: OverlayStyle) -> None:
        self._style = style
        for cid, src in self._sources.items():
            if cid == USER_ID:
                src.color = QColor(style.user_color)
            elif cid == SYSTEM_ID:
                src.color = QColor(style.system_color)
        self._set_click_through(style.click_through)
        self.update()

    def set_captions_visible(self, visible: bool) -> None:
        """The user's choice ("Show captions"); idle fading hides and re-shows on its own."""
        self._wanted_visible = visible
        if visible:
            self._wake()
        else:
            self.hide()

    def captions_visible(self) -> bool:
        return self._wanted_visible

    def add_text(self, client_id: str, text: str, final: bool) -> None:
        """Append newly committed text of a source; ``final`` closes its current utterance."""
        src = self.source(client_id)
        src.closed = False
        src.current += text
        if final:
            src.done = (src.done + " " + src.current.strip()).strip()[-MAX_KEPT_CHARS:]
            src.current = ""
        src.updated = time.monotonic()
        if text.strip():
            self._wake()
        self.update()

    def source_closed(self, client_id: str) -> None:
        """A session ended: keep its text until the overlay fades, then forget it."""
        src = self._sources.get(client_id)
        if src is not None:
            src.closed = True

    def clear(self) -> None:
        self._sources.clear()
        self.update()

    def source(self, client_id: str) -> SourceState:
        src = self._sources.get(client_id)
        if src is None:
            src = SourceState(client_id, self.label_for(client_id), self._new_color(client_id))
            self._sources[client_id] = src
        return src

    def label_for(self, client_id: str) -> str:
        return LOCAL_LABELS.get(client_id, client_id)

    def color_for(self, client_id: str) -> QColor:
        return QColor(self.source(client_id).color)

    def snapshot(self) -> dict[str, dict[str, str]]:
        """What is on screen now, per source: label, colour and text (tests, debug state)."""
        return {
            cid: {"label": s.label, "color": s.color.name(), "text": s.text}
            for cid, s in self._sources.items()
        }

    def faded(self) -> bool:
        return self._alpha <= 0.0

    # -- internals -----------------------------------------------------------------------------

    def _new_color(self, client_id: str) -> QColor:
        if client_id == USER_ID:
            return QColor(self._style.user_color)
        if client_id == SYSTEM_ID:
            return QColor(self._style.system_color)
        color = QColor(REMOTE_COLORS[self._next_remote % len(REMOTE_COLORS)])
        self._next_remote += 1
        return color

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
        self._last_activity = time.monotonic()
        self._alpha = 1.0
        if self._wanted_visible and not self.isVisible():
            self.show()
        self.update()

    def _tick(self) -> None:
        fade = self._style.fade_seconds
        if fade <= 0 or not self.isVisible():
            return
        idle = time.monotonic() - self._last_activity
        if idle < fade:
            return
        alpha = max(0.0, 1.0 - (idle - fade) / FADE_OUT_SECONDS)
        if alpha != self._alpha:
            self._alpha = alpha
            self.update()
        if alpha <= 0.0:
            for cid in [c for c, s in self._sources.items() if s.closed]:
                del self._sources[cid]
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

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        p.fillRect(self.rect(), Qt.GlobalColor.transparent)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        panel = QColor(16, 16, 20)
        panel.setAlphaF(max(0.0, min(1.0, self._style.opacity * self._alpha)))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(panel)
        p.drawRoundedRect(self.rect(), 10, 10)

        text_font, label_font = self._fonts()
        tm, lm = QFontMetrics(text_font), QFontMetrics(label_font)
        pad = 12
        label_w = (
            max(lm.horizontalAdvance(s.label) for s in self._sources.values()) + 14
            if (self._sources)
            else 0
        )
        text_x = pad + label_w
        text_w = max(40, self.width() - text_x - pad)
        y = pad
        bottom = self.height() - pad
        shadow = QColor(0, 0, 0, int(200 * self._alpha))
        # the most recently updated sources win when space is short; order stays stable
        shown, n_lines = self._visible_sources(tm.lineSpacing(), bottom - y)
        for src in shown:
            lines = self._wrap(src.text, tm, text_w)[-n_lines:] or [""]
            color = QColor(src.color)
            color.setAlphaF(self._alpha)
            p.setFont(label_font)
            p.setPen(color)
            p.drawText(pad, y + tm.ascent(), src.label)  # on the text's first baseline
            p.setFont(text_font)
            for line in lines:
                base = y + tm.ascent()
                p.setPen(shadow)
                p.drawText(text_x + 1, base + 1, line)
                p.setPen(color)
                p.drawText(text_x, base, line)
                y += tm.lineSpacing()
            y += pad // 2
        p.end()

    def ordered_sources(self) -> list[SourceState]:
        """Microphone first, system audio second, remote clients in order of arrival."""
        rank = {USER_ID: 0, SYSTEM_ID: 1}
        items = list(self._sources.values())
        return sorted(items, key=lambda s: (rank.get(s.client_id, 2), items.index(s)))

    def _visible_sources(self, line_h: int, height: int) -> tuple[list[SourceState], int]:
        """The sources to draw and lines for each: fewer lines first, then the stalest go."""
        srcs = self.ordered_sources()
        if not srcs:
            return [], self._style.lines_per_source
        per_source = max(1, height // len(srcs)) - 6
        lines = max(1, min(self._style.lines_per_source, per_source // max(1, line_h)))
        fits = max(1, height // (lines * line_h + 6))
        if len(srcs) <= fits:
            return srcs, lines
        keep = {s.client_id for s in sorted(srcs, key=lambda s: s.updated)[-fits:]}
        return [s for s in srcs if s.client_id in keep], lines

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(760, 150)

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._grip.move(
            self.width() - self._grip.width() - 2, self.height() - self._grip.height() - 2
        )
        self._settle.start()
        super().resizeEvent(event)

    def moveEvent(self, event) -> None:  # noqa: N802
        self._settle.start()
        super().moveEvent(event)

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
