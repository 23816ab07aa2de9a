"""Wire protocol v1 (DESIGN §3): paths, close codes and messages. A leaf: no FastAPI, no torch,
so the example client uses it too."""

from __future__ import annotations

import re

WS_PATH = "/ws/transcription"
CLIENT_ID_RE = re.compile(r"[\w.:@+\-]{1,64}")
CLIENT_ID_RULE = "client_id must be 1-64 letters, digits or . : @ + - _"

# Close codes (RFC 6455 and the IANA registry).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_LATER = 1013
# Closes after which reconnecting would not help.
FATAL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1009, 1010})


def close_reason(text: str) -> str:
    """A close reason fits in 123 bytes of UTF-8."""
    data = text.encode("utf-8")[:123]
    return data.decode("utf-8", errors="ignore")


def error_message(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": message}


def end_message() -> dict:
    return {"type": "end"}


class Refused(Exception):
    """A connection the server turns away: an error message, then a close with ``close_code``."""

    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message
