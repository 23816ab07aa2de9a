"""What the caption overlay shows, without drawing it: one row per source, its label and colour,
and when a row's text starts afresh or clears. No Qt; the clock is injected so tests control time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from whisper_desktop.source_names import SYSTEM_ID, USER_ID, distinct_labels

# Remote clients get these in order of appearance: far from the default blue and yellow.
REMOTE_COLORS = ["#5ee27a", "#ff6fcf", "#ff9f43", "#b388ff", "#4dd0e1", "#ff5c5c"]
MAX_KEPT_CHARS = 600
ROW_FADE_SECONDS = 1.0  # a row fades out over this long before it clears


@dataclass(frozen=True)
class RowTiming:
    pause_seconds: float = 3.0  # a new utterance after this much silence starts a fresh row
    clear_seconds: float = 10.0  # text not updated for this long fades and clears; 0 = keep


@dataclass
class ShownLine:
    """A finished utterance on a row; the final pass may replace its live text."""

    start: float | None  # stream seconds of its first text (None: not known)
    text: str


def _chars(lines: list[ShownLine]) -> int:
    return sum(len(line.text) + 1 for line in lines)


@dataclass
class CaptionRow:
    client_id: str
    label: str
    color: str
    lines: list[ShownLine] = field(default_factory=list)  # finished utterances, latest last
    current: str = ""  # the utterance still being spoken
    current_start: float | None = None
    updated: float = 0.0  # clock time of the last text
    closed: bool = False
    finished: str = ""  # the utterance the last ``final`` closed ("" when it had no words)

    @property
    def done(self) -> str:
        """The text of the finished utterances (at most MAX_KEPT_CHARS of its end)."""
        return " ".join(t for line in self.lines if (t := line.text.strip()))[-MAX_KEPT_CHARS:]

    @property
    def text(self) -> str:
        return " ".join(p for p in (self.done.strip(), self.current.strip()) if p)

    def finish_current(self) -> None:
        self.lines.append(ShownLine(self.current_start, self.current.strip()))
        self.current, self.current_start = "", None
        # a line wholly before the last MAX_KEPT_CHARS is no longer shown at all
        while len(self.lines) > 1 and _chars(self.lines[1:]) >= MAX_KEPT_CHARS:
            del self.lines[0]

    def clear_text(self) -> None:
        self.lines.clear()
        self.current, self.current_start = "", None


class CaptionBoard:
    """The rows of every source: text arrives with ``add_text``, ``tick`` ages it."""

    def __init__(
        self,
        user_color: str,
        system_color: str,
        timing: RowTiming | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timing = timing or RowTiming()
        self.clock = clock
        self._colors = {USER_ID: user_color, SYSTEM_ID: system_color}
        self._rows: dict[str, CaptionRow] = {}
        self._next_remote = 0

    # -- changes -------------------------------------------------------------------------------

    def set_local_colors(self, user_color: str, system_color: str) -> None:
        self._colors = {USER_ID: user_color, SYSTEM_ID: system_color}
        for cid, row in self._rows.items():
            row.color = self._colors.get(cid, row.color)

    def add_text(
        self, client_id: str, text: str, final: bool, start: float | None = None
    ) -> CaptionRow:
        """Append newly committed text; ``final`` closes the source's current utterance.
        ``start`` (stream seconds of the text) names the utterance for :meth:`revise`.

        After a pause of ``pause_seconds`` a new utterance starts a fresh row instead of being
        glued onto the old text."""
        now = self.clock()
        row = self.row(client_id)
        row.closed = False
        idle = now - row.updated
        if text.strip() and not row.current.strip() and idle > self.timing.pause_seconds:
            row.lines.clear()
        if not row.current and row.current_start is None:
            row.current_start = start
        row.current += text
        if final:
            row.finished = row.current.strip()
            row.finish_current()
        if text.strip() or final:
            row.updated = now
        return row

    def revise(self, client_id: str, start: float, text: str) -> bool:
        """The final pass's ``text`` replaces the live text of the finished utterance that began
        at ``start``, if it is still shown; True if it was."""
        row = self._rows.get(client_id)
        if row is None:
            return False
        for line in reversed(row.lines):
            if line.start is not None and abs(line.start - start) < 0.002:
                line.text = text.strip()
                return True
        return False

    def close(self, client_id: str) -> None:
        """A session ended: its row stays until its text clears (or ``forget_closed``)."""
        row = self._rows.get(client_id)
        if row is not None:
            row.closed = True

    def tick(self) -> bool:
        """Clear text older than ``clear_seconds``; a closed source's row goes with it.
        True when something changed."""
        clear = self.timing.clear_seconds
        if clear <= 0:
            return False
        now = self.clock()
        changed = False
        for cid, row in list(self._rows.items()):
            if now - row.updated < clear:
                continue
            if row.text:
                row.clear_text()
                changed = True
            if row.closed:
                del self._rows[cid]
                changed = True
        return changed

    def forget_closed(self) -> None:
        for cid in [c for c, r in self._rows.items() if r.closed]:
            del self._rows[cid]

    def clear(self) -> None:
        self._rows.clear()

    # -- queries -------------------------------------------------------------------------------

    def row(self, client_id: str) -> CaptionRow:
        row = self._rows.get(client_id)
        if row is None:
            labels = distinct_labels([*self._rows, client_id])
            row = CaptionRow(client_id, labels[client_id], self._new_color(client_id))
            row.updated = self.clock()
            self._rows[client_id] = row
        return row

    def rows(self) -> list[CaptionRow]:
        """Every known source: microphone first, system audio second, then in order of arrival."""
        rank = {USER_ID: 0, SYSTEM_ID: 1}
        items = list(self._rows.values())
        return sorted(items, key=lambda r: (rank.get(r.client_id, 2), items.index(r)))

    def shown_rows(self) -> list[CaptionRow]:
        """The rows with text to show."""
        return [r for r in self.rows() if r.text]

    def alpha(self, row: CaptionRow) -> float:
        """1 while fresh, falling to 0 over the last ``ROW_FADE_SECONDS`` before it clears."""
        clear = self.timing.clear_seconds
        if clear <= 0:
            return 1.0
        left = clear - (self.clock() - row.updated)
        return max(0.0, min(1.0, left / ROW_FADE_SECONDS))

    def _new_color(self, client_id: str) -> str:
        if client_id in self._colors:
            return self._colors[client_id]
        color = REMOTE_COLORS[self._next_remote % len(REMOTE_COLORS)]
        self._next_remote += 1
        return color
