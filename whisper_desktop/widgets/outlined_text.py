"""Text drawn with an outline (a stroke around each glyph), or with the old soft shadow when
the outline is off: readable over video and bright backgrounds alike."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

MAX_OUTLINE = 8


@dataclass(frozen=True)
class Outline:
    width: int = 0  # pixels around each glyph; 0 = a drop shadow instead
    color: str = "#000000"


def draw_text(
    p: QPainter, x: float, baseline: float, text: str, font: QFont, color: QColor, outline: Outline
) -> None:
    """``text`` at (x, baseline) in ``color``; the outline takes the colour's alpha too."""
    if outline.width <= 0:
        shadow = QColor(0, 0, 0, int(200 * color.alphaF()))
        p.setFont(font)
        p.setPen(shadow)
        p.drawText(QPointF(x + 1, baseline + 1), text)
        p.setPen(color)
        p.drawText(QPointF(x, baseline), text)
        return
    path = QPainterPath()
    path.addText(QPointF(x, baseline), font, text)
    stroke = QColor(outline.color)
    stroke.setAlphaF(stroke.alphaF() * color.alphaF())
    # the stroke is centred on the glyph's edge: twice the width leaves ``width`` outside
    pen = QPen(stroke, 2 * min(outline.width, MAX_OUTLINE))
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.strokePath(path, pen)
    p.fillPath(path, color)
