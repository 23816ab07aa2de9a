"""Input level meters, one per local source, fed only by the captures' ``level`` signals."""

from __future__ import annotations

import math

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFormLayout, QProgressBar, QWidget

FLOOR_DB = -60.0  # an RMS this quiet or quieter shows as an empty bar


def level_percent(rms: float) -> int:
    """An RMS (full scale 1.0) on a dB scale: -60 dBFS and below is 0, 0 dBFS is 100."""
    if rms <= 0 or not math.isfinite(rms):
        return 0
    db = 20.0 * math.log10(rms)
    return max(0, min(100, round((db - FLOOR_DB) / -FLOOR_DB * 100)))


class LevelMeters(QWidget):
    """A labelled bar per source, in a fixed order; a source not listed gets a bar on its
    first level."""

    def __init__(self, labels: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self.bars: dict[str, QProgressBar] = {}
        for client_id, label in labels.items():
            self._add(client_id, label)

    def _add(self, client_id: str, label: str) -> QProgressBar:
        bar = QProgressBar(objectName="levelMeter")
        bar.setRange(0, 100)
        bar.setValue(0)
        bar.setTextVisible(False)
        bar.setFixedHeight(10)
        bar.setAccessibleName(self.tr("%1 level").replace("%1", label))
        self._form.addRow(label, bar)
        self.bars[client_id] = bar
        return bar

    @Slot(str, float)
    def set_level(self, client_id: str, rms: float) -> None:
        bar = self.bars.get(client_id) or self._add(client_id, client_id)
        bar.setValue(level_percent(rms))

    def value(self, client_id: str) -> int:
        bar = self.bars.get(client_id)
        return bar.value() if bar is not None else 0
