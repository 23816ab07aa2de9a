"""Committed text on a terminal: one line per utterance, colour-coded per client."""

from __future__ import annotations

import hashlib
import json
from typing import Optional, TextIO

_PALETTE = (36, 33, 32, 35, 34, 91, 92, 96, 93, 95)
_FIXED = {"user": 36, "system": 33}


def client_color(client_id: str) -> int:
    if client_id in _FIXED:
        return _FIXED[client_id]
    digest = hashlib.sha1(client_id.encode()).digest()
    return _PALETTE[digest[0] % len(_PALETTE)]


class Printer:
    """Prints committed text: one line per utterance, a ``[client]`` prefix when several
    clients share the terminal, ANSI colors per client when ``color``."""

    def __init__(
        self, out: TextIO, *, json_mode: bool = False, color: bool = False, prefix: bool = False
    ) -> None:
        self.out, self.json_mode, self.color, self.prefix = out, json_mode, color, prefix
        self._open: Optional[str] = None  # client whose line is unfinished

    def _paint(self, client_id: str, text: str) -> str:
        return f"\x1b[{client_color(client_id)}m{text}\x1b[0m" if self.color else text

    def message(self, msg: dict) -> None:
        if self.json_mode:
            self.out.write(json.dumps(msg, ensure_ascii=False) + "\n")
            self.out.flush()
            return
        if msg.get("type") != "transcript":
            return
        cid, text = str(msg.get("client_id", "")), str(msg.get("text", ""))
        if self._open != cid:
            self.end_line()
            text = text.lstrip()
            if self.prefix:
                self.out.write(self._paint(cid, f"[{cid}] "))
        if text:
            self.out.write(self._paint(cid, text))
            self._open = cid
        if msg.get("final"):
            self.end_line()
        self.out.flush()

    def end_line(self) -> None:
        if self._open is not None and not self.json_mode:
            self.out.write("\n")
            self.out.flush()
        self._open = None
