"""Transcript history: a SQLite store, the event recorder, and TXT/SRT/VTT exporters.

No Qt here, so ``whisper-desktop history ...`` runs on a machine without a display.

Every transcript event is written and committed at once: an utterance row is created with the
first text of an utterance and updated as more text is committed, so a crash loses nothing that
was already shown on screen. ``final`` marks utterances the engine closed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    model TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS utterances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    text TEXT NOT NULL,
    final INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS utterances_session ON utterances(session_id);
CREATE INDEX IF NOT EXISTS utterances_client ON utterances(client_id);
"""


@dataclass(frozen=True)
class SessionRecord:
    id: int
    client_id: str
    started_at: float
    ended_at: float | None
    model: str
    language: str
    utterances: int = 0


@dataclass(frozen=True)
class Utterance:
    id: int
    session_id: int
    client_id: str
    start: float  # seconds of the session's audio stream
    end: float
    text: str
    final: bool
    created_at: float
    session_started_at: float = 0.0

    @property
    def wall_start(self) -> float:
        return self.session_started_at + self.start

    @property
    def wall_end(self) -> float:
        return self.session_started_at + self.end


class HistoryStore:
    """A thread-safe SQLite store of sessions and utterances; every write is committed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            if str(path) != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes --------------------------------------------------------------------------------

    def open_session(
        self, client_id: str, model: str = "", language: str = "", started_at: float | None = None
    ) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO sessions (client_id, started_at, model, language) VALUES (?, ?, ?, ?)",
                (client_id, time.time() if started_at is None else started_at, model, language),
            )
            self._db.commit()
            return int(cur.lastrowid)

    def close_session(self, session_id: int, ended_at: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ?",
                (time.time() if ended_at is None else ended_at, session_id),
            )
            self._db.commit()

    def save_utterance(
        self,
        session_id: int,
        client_id: str,
        start: float,
        end: float,
        text: str,
        final: bool,
        utterance_id: int | None = None,
    ) -> int:
        """Insert an utterance, or update it when ``utterance_id`` is given; committed at once."""
        with self._lock:
            if utterance_id is None:
                cur = self._db.execute(
                    'INSERT INTO utterances (session_id, client_id, start, "end", text, final,'
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (session_id, client_id, start, end, text, int(final), time.time()),
                )
                utterance_id = int(cur.lastrowid)
            else:
                self._db.execute(
                    'UPDATE utterances SET start = ?, "end" = ?, text = ?, final = ? WHERE id = ?',
                    (start, end, text, int(final), utterance_id),
                )
            self._db.commit()
            return utterance_id

    def delete_session(self, session_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM utterances WHERE session_id = ?", (session_id,))
            self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            self._db.commit()

    # -- reads ---------------------------------------------------------------------------------

    def sessions(
        self, client_id: str | None = None, search: str | None = None
    ) -> list[SessionRecord]:
        """Sessions, newest first; with ``search``, only those with a matching utterance."""
        where, params = [], []
        if client_id:
            where.append("s.client_id = ?")
            params.append(client_id)
        if search:
            where.append(
                "EXISTS (SELECT 1 FROM utterances w WHERE w.session_id = s.id AND w.text LIKE ?"
                " ESCAPE '\\')"
            )
            params.append(_like(search))
        sql = (
            "SELECT s.*, (SELECT COUNT(*) FROM utterances u WHERE u.session_id = s.id) AS n"
            " FROM sessions s"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY s.started_at DESC, s.id DESC"
        )
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            SessionRecord(
                id=r["id"],
                client_id=r["client_id"],
                started_at=r["started_at"],
                ended_at=r["ended_at"],
                model=r["model"],
                language=r["language"],
                utterances=r["n"],
            )
            for r in rows
        ]

    def utterances(
        self,
        session_ids: Sequence[int] | None = None,
        client_id: str | None = None,
        search: str | None = None,
    ) -> list[Utterance]:
        """Utterances in time order (by wall clock), filtered as asked; empty texts are left out."""
        where, params = ["TRIM(u.text) != ''"], []
        if session_ids is not None:
            if not session_ids:
                return []
            where.append(f"u.session_id IN ({','.join('?' * len(session_ids))})")
            params.extend(int(s) for s in session_ids)
        if client_id:
            where.append("u.client_id = ?")
            params.append(client_id)
        if search:
            where.append("u.text LIKE ? ESCAPE '\\'")
            params.append(_like(search))
        sql = (
            'SELECT u.id, u.session_id, u.client_id, u.start, u."end", u.text, u.final,'
            " u.created_at, s.started_at AS session_started_at"
            " FROM utterances u JOIN sessions s ON s.id = u.session_id"
            " WHERE " + " AND ".join(where) + " ORDER BY s.started_at + u.start, u.id"
        )
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            Utterance(
                id=r["id"],
                session_id=r["session_id"],
                client_id=r["client_id"],
                start=r["start"],
                end=r["end"],
                text=r["text"],
                final=bool(r["final"]),
                created_at=r["created_at"],
                session_started_at=r["session_started_at"],
            )
            for r in rows
        ]

    def clients(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT client_id FROM sessions ORDER BY 1").fetchall()
        return [r[0] for r in rows]


def _like(search: str) -> str:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- recording engine events -------------------------------------------------------------------


@dataclass
class _OpenUtterance:
    id: int | None = None
    start: float = 0.0
    end: float = 0.0
    text: str = ""


@dataclass
class _OpenSession:
    id: int
    utterance: _OpenUtterance = field(default_factory=_OpenUtterance)


class HistoryRecorder:
    """Turns a stream of transcript events into committed utterances.

    An utterance's text is the concatenation of its events' texts up to the one with
    ``final=True``. The row is written with the first text and updated on every event.
    """

    def __init__(self, store: HistoryStore, model: str = "", language: str = "") -> None:
        self.store = store
        self.model = model
        self.language = language
        self._open: dict[str, _OpenSession] = {}

    def session_started(self, client_id: str, started_at: float | None = None) -> int:
        """A new session of ``client_id``; a still-open one of the same id is closed first."""
        if client_id in self._open:
            self.session_closed(client_id)
        sid = self.store.open_session(client_id, self.model, self.language, started_at)
        self._open[client_id] = _OpenSession(sid)
        return sid

    def add(self, client_id: str, text: str, start: float, end: float, final: bool) -> None:
        session = self._open.get(client_id)
        if session is None:
            session = self._open[client_id] = _OpenSession(
                self.store.open_session(client_id, self.model, self.language)
            )
        utt = session.utterance
        if utt.id is None and not text.strip():
            if final:
                session.utterance = _OpenUtterance()
            return
        if utt.id is None:
            utt.start = start
        utt.text += text
        utt.end = max(utt.end, end, utt.start)
        utt.id = self.store.save_utterance(
            session.id, client_id, utt.start, utt.end, utt.text.strip(), final, utt.id
        )
        if final:
            session.utterance = _OpenUtterance()

    def session_closed(self, client_id: str) -> None:
        session = self._open.pop(client_id, None)
        if session is None:
            return
        utt = session.utterance
        if utt.id is not None:  # text shown but never finalized: keep it, marked final
            self.store.save_utterance(
                session.id, client_id, utt.start, utt.end, utt.text.strip(), True, utt.id
            )
        self.store.close_session(session.id)

    def close_all(self) -> None:
        for client_id in list(self._open):
            self.session_closed(client_id)

    def open_clients(self) -> list[str]:
        return list(self._open)


# -- exporters ---------------------------------------------------------------------------------


class ExportFormat(str, Enum):
    TXT = "txt"
    SRT = "srt"
    VTT = "vtt"


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the start of the export
    end: float
    client_id: str
    text: str


def make_cues(utterances: Iterable[Utterance]) -> list[Cue]:
    """Cues on one time line: wall-clock times relative to the earliest session in the export."""
    utts = sorted(utterances, key=lambda u: (u.wall_start, u.id))
    if not utts:
        return []
    origin = min(u.session_started_at for u in utts)
    cues = []
    for u in utts:
        start = max(0.0, u.wall_start - origin)
        end = max(start + 0.01, u.wall_end - origin)
        cues.append(Cue(start, end, u.client_id, " ".join(u.text.split())))
    return cues


def format_timestamp(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _label(cue: Cue, labelled: bool) -> str:
    return f"{cue.client_id}: {cue.text}" if labelled else cue.text


def to_txt(cues: Sequence[Cue]) -> str:
    lines = [f"[{format_timestamp(c.start, '.')[:-4]}] {c.client_id}: {c.text}" for c in cues]
    return "\n".join(lines) + ("\n" if lines else "")


def to_srt(cues: Sequence[Cue]) -> str:
    labelled = len({c.client_id for c in cues}) > 1
    blocks = [
        f"{i}\n{format_timestamp(c.start, ',')} --> {format_timestamp(c.end, ',')}\n"
        f"{_label(c, labelled)}\n"
        for i, c in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for c in cues:
        text = f"<v {c.client_id}>{c.text}"
        blocks.append(
            f"{format_timestamp(c.start, '.')} --> {format_timestamp(c.end, '.')}\n{text}\n"
        )
    return "\n".join(blocks)


def export(utterances: Iterable[Utterance], fmt: ExportFormat | str) -> str:
    cues = make_cues(utterances)
    fmt = ExportFormat(fmt)
    if fmt is ExportFormat.SRT:
        return to_srt(cues)
    if fmt is ExportFormat.VTT:
        return to_vtt(cues)
    return to_txt(cues)
