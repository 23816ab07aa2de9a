"""The transcript history window: sessions, their utterances, search and export.

The store and the exporters live in :mod:`whisper_desktop.history` (no Qt).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from whisper_desktop.history.exporters import ExportFormat, export, format_timestamp
from whisper_desktop.history.store import HistoryStore, Utterance

log = logging.getLogger(__name__)
ALL_SESSIONS = -1


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


class HistoryWindow(QWidget):
    """Lists sessions (left) and the utterances of the selected ones (right)."""

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Transcript history")
        self.resize(900, 560)

        self.search = QLineEdit(placeholderText="Search transcripts…", clearButtonEnabled=True)
        self.search.textChanged.connect(self._search_later)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)

        self.sessions = QTreeWidget()
        self.sessions.setHeaderLabels(["Started", "Source", "Utterances", "Model"])
        self.sessions.setRootIsDecorated(False)
        self.sessions.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.sessions.itemSelectionChanged.connect(self._show_utterances)
        self.sessions.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        self.utterances = QTreeWidget()
        self.utterances.setHeaderLabels(["Time", "Source", "Text"])
        self.utterances.setRootIsDecorated(False)
        self.utterances.setWordWrap(True)
        self.utterances.header().setStretchLastSection(True)

        self.status = QLabel()
        self.export_button = QPushButton("Export…")
        menu = QMenu(self.export_button)
        for fmt in ExportFormat:
            menu.addAction(fmt.value.upper(), lambda f=fmt: self._export_dialog(f))
        self.export_button.setMenu(menu)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.sessions)
        split.addWidget(self.utterances)
        split.setStretchFactor(1, 2)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(refresh)
        top.addWidget(self.export_button)
        root = QVBoxLayout(self)
        root.addLayout(top)
        root.addWidget(split, 1)
        root.addWidget(self.status)
        self.refresh()

    # -- data ----------------------------------------------------------------------------------

    def search_text(self) -> str:
        return self.search.text().strip()

    def selected_session_ids(self) -> list[int] | None:
        """Ids of the selected sessions; None means all sessions that match the search."""
        ids = [it.data(0, Qt.ItemDataRole.UserRole) for it in self.sessions.selectedItems()]
        if not ids or ALL_SESSIONS in ids:
            return None
        return ids

    def shown_utterances(self) -> list[Utterance]:
        session_ids = self.selected_session_ids()
        if session_ids is None:
            session_ids = [
                self.sessions.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
                for i in range(1, self.sessions.topLevelItemCount())
            ]
        return self.store.utterances(session_ids=session_ids, search=self.search_text() or None)

    def refresh(self) -> None:
        selected = self.selected_session_ids()
        self.sessions.blockSignals(True)
        self.sessions.clear()
        everything = QTreeWidgetItem(["All sessions", "", "", ""])
        everything.setData(0, Qt.ItemDataRole.UserRole, ALL_SESSIONS)
        self.sessions.addTopLevelItem(everything)
        for s in self.store.sessions(search=self.search_text() or None):
            item = QTreeWidgetItem([_when(s.started_at), s.client_id, str(s.utterances), s.model])
            item.setData(0, Qt.ItemDataRole.UserRole, s.id)
            self.sessions.addTopLevelItem(item)
            if selected and s.id in selected:
                item.setSelected(True)
        if not self.sessions.selectedItems():
            everything.setSelected(True)
        self.sessions.blockSignals(False)
        self._show_utterances()

    def _search_later(self) -> None:
        self._search_timer.start()

    def _show_utterances(self) -> None:
        utts = self.shown_utterances()
        self.utterances.clear()
        for u in utts:
            item = QTreeWidgetItem([_when(u.wall_start)[11:], u.client_id, u.text])
            item.setToolTip(2, f"{format_timestamp(u.start, '.')} – {format_timestamp(u.end, '.')}")
            self.utterances.addTopLevelItem(item)
        self.utterances.scrollToBottom()
        self.status.setText(f"{len(utts)} utterances")

    # -- export --------------------------------------------------------------------------------

    def export_to(self, path: str | Path, fmt: ExportFormat | str) -> int:
        utts = self.shown_utterances()
        Path(path).write_text(export(utts, fmt), encoding="utf-8")
        return len(utts)

    def _export_dialog(self, fmt: ExportFormat) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export transcripts",
            f"transcript.{fmt.value}",
            f"{fmt.value.upper()} files (*.{fmt.value})",
        )
        if path:
            n = self.export_to(path, fmt)
            self.status.setText(f"Exported {n} utterances to {path}")
            log.info("exported %d utterances to %s", n, path)
