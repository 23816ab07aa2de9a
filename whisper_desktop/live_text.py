"""Live text files for streaming software (an OBS "Text" source reads a file): one file per
source, ``captions-<label>.txt``, holding its last finished lines, one a line.

Each write goes to a temporary file in the same folder that then replaces the old one
(``os.replace``), so a reader never sees half a file. No Qt.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import deque
from pathlib import Path

log = logging.getLogger(__name__)

FILE_PREFIX = "captions-"
MAX_LINES = 6
_UNSAFE = re.compile(r"[^\w.-]+")


def file_name(label: str) -> str:
    """``captions-You.txt``; characters a file name should not hold become ``_``."""
    safe = _UNSAFE.sub("_", label.strip()).strip("._") or "source"
    return f"{FILE_PREFIX}{safe}.txt"


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LiveTextFiles:
    """Keeps the last ``lines`` finished lines of each source and rewrites its file."""

    def __init__(self, folder: Path, lines: int = 2) -> None:
        self.folder = Path(folder)
        self.lines = max(1, min(MAX_LINES, lines))
        self._kept: dict[str, deque[str]] = {}

    def add_line(self, label: str, text: str) -> Path:
        """Raises OSError when the folder cannot be written; the line is kept for the next."""
        text = " ".join(text.split())
        kept = self._kept.setdefault(label, deque(maxlen=MAX_LINES))
        if text:
            kept.append(text)
        path = self.folder / file_name(label)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, "".join(f"{line}\n" for line in list(kept)[-self.lines :]))
        return path
