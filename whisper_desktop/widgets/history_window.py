"""The transcript history window: sessions, their utterances, search and export.

Sources are named as in the overlay ("You", "System", "Browser"). Search matches are highlighted;
the selected utterance is shown in full below the list, with Copy. Sessions can be deleted, except
the ones still being recorded. The store and the exporters live in :mod:`whisper_desktop.history`
(no Qt).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from whisper_desktop.history.exporters import ExportFormat, export, format_timestamp
from whisper_desktop.history.store import HistoryStore, Utterance
from whisper_desktop.source_names import source_label
from whisper_desktop.widgets.highlight import HighlightDelegate, highlighted_html

log = logging.getLogger(__name__)
ALL_SESSIONS = -1
TEXT_COLUMN = 2


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


class HistoryWindow(QWidget):
    """Lists sessions (left) and the utterances of the selected ones (right)."""

    def __init__(
        self,
        store: HistoryStore,
        parent: QWidget | None = None,
        open_sessions: Callable[[], Collection[int]] = frozenset,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._open_sessions = open_sessions  # ids still being recorded: not deletable
        self._shown: list[Utterance] = []
        self.setWindowTitle(self.tr("Transcript history"))
        self.resize(900, 560)

        self.search = QLineEdit(clearButtonEnabled=True)
        self.search.setPlaceholderText(self.tr("Search transcripts…"))
        self.search.textChanged.connect(self._search_later)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)

        self.sessions = QTreeWidget()
        self.sessions.setHeaderLabels(
            [self.tr("Started"), self.tr("Source"), self.tr("Utterances"), self.tr("Model")]
        )
        self.sessions.setRootIsDecorated(False)
        self.sessions.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.sessions.itemSelectionChanged.connect(self._show_utterances)
        self.sessions.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.sessions.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.sessions.customContextMenuRequested.connect(self._session_menu)

        self.utterances = QTreeWidget()
        self.utterances.setHeaderLabels([self.tr("Time"), self.tr("Source"), self.tr("Text")])
        self.utterances.setRootIsDecorated(False)
        self.utterances.setWordWrap(True)
        self.utterances.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.utterances.header().setStretchLastSection(True)
        self.highlighter = HighlightDelegate(self.utterances)
        self.utterances.setItemDelegateForColumn(TEXT_COLUMN, self.highlighter)
        self.utterances.itemSelectionChanged.connect(self._show_detail)
        self.utterances.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.utterances.customContextMenuRequested.connect(self._utterance_menu)

        self.detail = QTextBrowser()
        self.detail.setPlaceholderText(self.tr("Select an utterance to read it in full."))
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_selected)
        detail_box = QWidget()
        detail_layout = QVBoxLayout(detail_box)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail, 1)
        detail_layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignRight)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.utterances)
        right.addWidget(detail_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.delete_button = QPushButton(self.tr("Delete session"))
        self.delete_button.setEnabled(False)
        self.delete_button.clicked.connect(lambda: self.delete_selected_sessions(confirm=True))

        self.status = QLabel()
        self.export_button = QPushButton(self.tr("Export…"))
        menu = QMenu(self.export_button)
        for fmt in ExportFormat:
            menu.addAction(fmt.value.upper(), lambda f=fmt: self._export_dialog(f))
        self.export_button.setMenu(menu)
        refresh = QPushButton(self.tr("Refresh"))
        refresh.clicked.connect(self.refresh)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.sessions)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(refresh)
        top.addWidget(self.delete_button)
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
        everything = QTreeWidgetItem([self.tr("All sessions"), "", "", ""])
        everything.setData(0, Qt.ItemDataRole.UserRole, ALL_SESSIONS)
        self.sessions.addTopLevelItem(everything)
        for s in self.store.sessions(search=self.search_text() or None):
            label = source_label(s.client_id)
            item = QTreeWidgetItem([_when(s.started_at), label, str(s.utterances), s.model])
            item.setData(0, Qt.ItemDataRole.UserRole, s.id)
            item.setToolTip(1, s.client_id)
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
        """Fill the utterance list; the utterances selected before stay selected (a live
        refresh must not take away what the user is reading)."""
        keep = {u.id for u in self.selected_utterances()}
        utts = self.shown_utterances()
        self._shown = utts
        self.highlighter.needle = self.search_text()
        self.utterances.blockSignals(True)
        self.utterances.clear()
        kept: list[QTreeWidgetItem] = []
        for i, u in enumerate(utts):
            item = QTreeWidgetItem([_when(u.wall_start)[11:], source_label(u.client_id), u.text])
            item.setData(0, Qt.ItemDataRole.UserRole, i)
            item.setToolTip(1, u.client_id)
            item.setToolTip(2, f"{format_timestamp(u.start, '.')} – {format_timestamp(u.end, '.')}")
            self.utterances.addTopLevelItem(item)
            if u.id in keep:
                item.setSelected(True)
                kept.append(item)
        self.utterances.blockSignals(False)
        if kept:
            self.utterances.scrollToItem(kept[0])
        else:
            self.utterances.scrollToBottom()
        self.status.setText(f"{len(utts)} utterances")
        self.delete_button.setEnabled(self.selected_session_ids() is not None)
        self._show_detail()

    # -- detail and copy -----------------------------------------------------------------------

    def selected_utterances(self) -> list[Utterance]:
        rows = sorted(
            it.data(0, Qt.ItemDataRole.UserRole) for it in self.utterances.selectedItems()
        )
        return [self._shown[i] for i in rows]

    def _show_detail(self) -> None:
        chosen = self.selected_utterances()
        self.copy_button.setEnabled(bool(chosen))
        if not chosen:
            self.detail.clear()
            return
        parts = []
        for u in chosen:
            head = (
                f"<b>{source_label(u.client_id)}</b> · {_when(u.wall_start)} · "
                f"{format_timestamp(u.start, '.')} – {format_timestamp(u.end, '.')}"
            )
            parts.append(f"<p>{head}<br>{highlighted_html(u.text, self.search_text())}</p>")
        self.detail.setHtml("".join(parts))

    def copy_selected(self) -> str:
        """Copy the selected utterances' text (one a line) to the clipboard; returns it."""
        text = "\n".join(u.text for u in self.selected_utterances())
        if text:
            QApplication.clipboard().setText(text)
            self.status.setText(self.tr("Copied to the clipboard"))
        return text

    def utterance_menu(self) -> QMenu:
        menu = QMenu(self.utterances)
        copy = menu.addAction(self.tr("Copy"), self.copy_selected)
        copy.setEnabled(bool(self.selected_utterances()))
        return menu

    def _utterance_menu(self, pos: QPoint) -> None:
        self.utterance_menu().exec(self.utterances.viewport().mapToGlobal(pos))

    # -- deleting ------------------------------------------------------------------------------

    def session_menu(self) -> QMenu:
        menu = QMenu(self.sessions)
        delete = menu.addAction(
            self.tr("Delete session"), lambda: self.delete_selected_sessions(confirm=True)
        )
        delete.setEnabled(self.selected_session_ids() is not None)
        return menu

    def _session_menu(self, pos: QPoint) -> None:
        self.session_menu().exec(self.sessions.viewport().mapToGlobal(pos))

    def delete_selected_sessions(self, confirm: bool = True) -> int:
        """Delete the selected sessions and their utterances; sessions still being recorded
        are kept. Returns how many were deleted."""
        ids = self.selected_session_ids()
        if not ids:
            return 0
        busy = set(self._open_sessions())
        doomed = [i for i in ids if i not in busy]
        if not doomed:
            self.status.setText(self.tr("A session still being recorded cannot be deleted"))
            return 0
        if confirm:
            answer = QMessageBox.question(
                self,
                self.tr("Delete sessions"),
                self.tr(
                    "Delete %1 session(s) and their transcripts? This cannot be undone."
                ).replace("%1", str(len(doomed))),
            )
            if answer != QMessageBox.StandardButton.Yes:
                return 0
        for sid in doomed:
            self.store.delete_session(sid)
        log.info("deleted sessions %s", doomed)
        self.sessions.clearSelection()
        self.refresh()
        kept = len(ids) - len(doomed)
        note = self.tr("; %1 still being recorded kept").replace("%1", str(kept)) if kept else ""
        done = self.tr("Deleted %1 session(s)").replace("%1", str(len(doomed)))
        self.status.setText(done + note)
        return len(doomed)

    # -- export --------------------------------------------------------------------------------

    def export_to(self, path: str | Path, fmt: ExportFormat | str) -> int:
        utts = self.shown_utterances()
        Path(path).write_text(export(utts, fmt), encoding="utf-8")
        return len(utts)

    def _export_dialog(self, fmt: ExportFormat) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Export transcripts"),
            f"transcript.{fmt.value}",
            self.tr("%1 files (*.%2)").replace("%1", fmt.value.upper()).replace("%2", fmt.value),
        )
        if path:
            n = self.export_to(path, fmt)
            done = self.tr("Exported %1 utterances to %2")
            self.status.setText(done.replace("%1", str(n)).replace("%2", path))
            log.info("exported %d utterances to %s", n, path)
