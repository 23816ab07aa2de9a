"""The transcript history's SQLite store: sessions and utterances. No Qt.

An utterance's ``text`` is its final text: the final pass's (``revise_utterance``) once it
came, the live one until then; ``live_text`` keeps the live text of a revised utterance.
Search, exports and the history window read ``text``.

Every write is committed at once, so a crash loses nothing that was already shown on screen and
another process (``whisper-desktop history ...``) sees partial text. Rows become the dataclasses
below through one mapping, ``HistoryStore._records``: queries name their columns after fields.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from whisper_desktop.history.search import contains, fold, fts_query

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
# Version 1: the full-text index of the utterances' folded text (search.fold), kept in step by
# triggers. They call history_fold(), which every HistoryStore connection defines: write to the
# history through HistoryStore only.
FTS_VERSION = 1
# Version 2: utterances.live_text, the live text of an utterance the final pass revised.
LIVE_TEXT_VERSION = 2
FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS utterances_fts
    USING fts5(folded, tokenize = 'unicode61 remove_diacritics 0');
CREATE TRIGGER IF NOT EXISTS utterances_fts_insert AFTER INSERT ON utterances BEGIN
    INSERT INTO utterances_fts (rowid, folded) VALUES (new.id, history_fold(new.text));
END;
CREATE TRIGGER IF NOT EXISTS utterances_fts_update AFTER UPDATE OF text ON utterances BEGIN
    UPDATE utterances_fts SET folded = history_fold(new.text) WHERE rowid = new.id;
END;
CREATE TRIGGER IF NOT EXISTS utterances_fts_delete AFTER DELETE ON utterances BEGIN
    DELETE FROM utterances_fts WHERE rowid = old.id;
END;
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
    text: str  # the final text: the final pass's once it came, else the live one
    final: bool
    created_at: float
    session_started_at: float = 0.0
    live_text: str | None = None  # the live text, kept when the final pass revised it

    def __post_init__(self) -> None:
        object.__setattr__(self, "final", bool(self.final))  # SQLite stores 0/1

    @property
    def wall_start(self) -> float:
        return self.session_started_at + self.start

    @property
    def wall_end(self) -> float:
        return self.session_started_at + self.end


R = TypeVar("R", SessionRecord, Utterance)


class HistoryStore:
    """A thread-safe SQLite store of sessions and utterances; every write is committed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        # SQLite's LIKE and FTS5's tokenizer fold less than Python: searches fold all of Unicode
        self._db.create_function("folded_contains", 2, contains, deterministic=True)
        self._db.create_function("history_fold", 1, fold, deterministic=True)
        with self._lock:
            if str(path) != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._db.commit()
            self._migrate()

    def _migrate(self) -> None:
        """Bring an older history up to date, one version at a time, each in a transaction."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version < FTS_VERSION:  # index the utterances it already holds
            with self._db:  # one transaction: the index is whole or not there
                self._db.executescript("BEGIN;" + FTS_SCHEMA)
                self._db.execute("DELETE FROM utterances_fts")
                self._db.execute(
                    "INSERT INTO utterances_fts (rowid, folded)"
                    " SELECT id, history_fold(text) FROM utterances"
                )
                self._db.execute(f"PRAGMA user_version = {FTS_VERSION}")
        if version < LIVE_TEXT_VERSION:
            with self._db:
                self._db.execute("ALTER TABLE utterances ADD COLUMN live_text TEXT")
                self._db.execute(f"PRAGMA user_version = {LIVE_TEXT_VERSION}")

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

    def revise_utterance(self, utterance_id: int, text: str) -> None:
        """The final pass's text becomes the utterance's text; its live text is kept (the
        first live text, if it is revised twice). The search index follows ``text``."""
        with self._lock:
            self._db.execute(
                "UPDATE utterances SET live_text = COALESCE(live_text, text), text = ?"
                " WHERE id = ?",
                (text, utterance_id),
            )
            self._db.commit()

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
            found, found_params = _search_clause("w", search)
            where.append(
                f"EXISTS (SELECT 1 FROM utterances w WHERE w.session_id = s.id AND {found})"
            )
            params.extend(found_params)
        sql = (
            "SELECT s.id, s.client_id, s.started_at, s.ended_at, s.model, s.language,"
            " (SELECT COUNT(*) FROM utterances u WHERE u.session_id = s.id) AS utterances"
            " FROM sessions s"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY s.started_at DESC, s.id DESC"
        )
        return self._records(SessionRecord, sql, params)

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
            found, found_params = _search_clause("u", search)
            where.append(found)
            params.extend(found_params)
        sql = (
            'SELECT u.id, u.session_id, u.client_id, u.start, u."end", u.text, u.final,'
            " u.created_at, s.started_at AS session_started_at, u.live_text"
            " FROM utterances u JOIN sessions s ON s.id = u.session_id"
            " WHERE " + " AND ".join(where) + " ORDER BY s.started_at + u.start, u.id"
        )
        return self._records(Utterance, sql, params)

    def clients(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT client_id FROM sessions ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def _records(self, cls: type[R], sql: str, params: Sequence[object]) -> list[R]:
        """The one row mapping: each column of the query fills the field of the same name."""
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [cls(**{name: row[name] for name in row.keys()}) for row in rows]


def _search_clause(alias: str, search: str) -> tuple[str, list[object]]:
    """SQL (and its parameters) that keeps the rows of ``alias`` matching ``search``: looked up
    in the FTS5 index, then checked as typed (see search.py)."""
    search = search.strip()  # "wor " is still being typed
    if not search:
        return "1", []
    exact = f"folded_contains({alias}.text, ?)"
    query = fts_query(search)
    if query is None:  # punctuation only: nothing to look up, a scan of the texts
        return exact, [search]
    indexed = f"{alias}.id IN (SELECT rowid FROM utterances_fts WHERE utterances_fts MATCH ?)"
    return f"{indexed} AND {exact}", [query, search]
