"""A history as the engine would report it, and an SRT reader, for the history tests."""

from __future__ import annotations

import re

from whisper_desktop.history.recorder import HistoryRecorder
from whisper_desktop.history.store import HistoryStore

SRT_TIME = re.compile(r"^(\d{2,}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2,}):(\d{2}):(\d{2}),(\d{3})$")


def fill(store: HistoryStore) -> None:
    """Two local sources speaking at once and a remote client, as the engine reports them."""
    rec = HistoryRecorder(store, model="tiny.en", language="en")
    rec.session_started("user", started_at=1000.0)
    rec.session_started("system", started_at=1000.5)
    events = [
        ("user", " Hello", 0.4, 1.0, False),
        ("system", " The weather", 0.2, 1.2, False),
        ("user", " world.", 1.0, 1.6, True),
        ("system", " is fine today.", 1.2, 2.5, True),
        ("user", "", 2.0, 2.0, True),  # empty final: nothing to store
        ("user", " Second sentence", 3.0, 4.0, False),
        ("user", " here.", 4.0, 4.8, True),
    ]
    for e in events:
        rec.add(*e)
    rec.session_started("phone-1", started_at=1010.0)
    rec.add("phone-1", " Remote words", 0.0, 1.0, False)  # shown, never finalized
    rec.close_all()


def parse_srt(text: str) -> list[tuple[int, float, float, str]]:
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        index = int(lines[0])
        m = SRT_TIME.match(lines[1])
        assert m, f"bad SRT time line {lines[1]!r}"
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        assert len(lines) >= 3 and lines[2].strip()
        cues.append((index, start, end, " ".join(lines[2:])))
    return cues
