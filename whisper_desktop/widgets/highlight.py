"""Search matches drawn highlighted inside item views: an HTML rendering of a cell's text with the
matched ranges marked, and the delegate that paints it."""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from whisper_desktop.history.search import match_spans

HIGHLIGHT = "#ffd84d"


def highlighted_html(text: str, needle: str, color: str = HIGHLIGHT) -> str:
    """``text`` as HTML with every case-folded match of ``needle`` on a coloured background."""
    out: list[str] = []
    last = 0
    for start, end in match_spans(text, needle):
        out.append(html.escape(text[last:start]))
        out.append(
            f'<span style="background-color:{color}; color:#000000">'
            f"{html.escape(text[start:end])}</span>"
        )
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\n", "<br>")


class HighlightDelegate(QStyledItemDelegate):
    """Paints a cell's text with the current search's matches highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.needle = ""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        text = str(index.data() or "")
        if not self.needle or not match_spans(text, self.needle):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = QTextDocument()
        doc.setDefaultFont(opt.font)
        doc.setDocumentMargin(2)
        doc.setHtml(highlighted_html(text, self.needle))
        doc.setTextWidth(opt.rect.width())
        context = QAbstractTextDocumentLayout.PaintContext()
        role = (
            QPalette.ColorRole.HighlightedText
            if opt.state & QStyle.StateFlag.State_Selected
            else QPalette.ColorRole.Text
        )
        context.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        painter.save()
        painter.translate(opt.rect.topLeft())
        painter.setClipRect(opt.rect.translated(-opt.rect.topLeft()))
        doc.documentLayout().draw(painter, context)
        painter.restore()
