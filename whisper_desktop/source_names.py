"""Short readable names for transcript sources, the same in the overlay, the history and exports.

The app's own sources are "You" (the microphone) and "System" (the system audio). A remote
client id such as ``browser-e89gd`` or ``phone-2`` becomes "Browser" or "Phone 2": random-looking
parts are dropped, short numbers kept, and the result is at most ``MAX_LABEL_CHARS`` long. No Qt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

USER_ID = "user"
SYSTEM_ID = "system"
LOCAL_LABELS = {USER_ID: "You", SYSTEM_ID: "System"}
REMOTE_FALLBACK = "Remote"
MAX_LABEL_CHARS = 12

_SEPARATORS = re.compile(r"[-_.:/\s]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _is_noise(part: str) -> bool:
    """A part that reads like a generated id: letters and digits mixed, long digit runs, hex."""
    if part.isdigit():
        return len(part) > 3
    has_digit = any(c.isdigit() for c in part)
    has_alpha = any(c.isalpha() for c in part)
    if has_digit and has_alpha:
        return True
    return len(part) >= 8 and re.fullmatch(r"[0-9a-fA-F]+", part) is not None


def source_label(client_id: str) -> str:
    """The readable name of one source, independent of the others."""
    if client_id in LOCAL_LABELS:
        return LOCAL_LABELS[client_id]
    parts = [p for p in _SEPARATORS.split(_CAMEL.sub(" ", client_id)) if p]
    kept = [p for p in parts if not _is_noise(p)]
    if not kept:
        return REMOTE_FALLBACK
    words = [kept[0].capitalize()] + [p.lower() if p.isalpha() else p for p in kept[1:]]
    label = " ".join(words)
    if len(label) > MAX_LABEL_CHARS:
        label = label[: MAX_LABEL_CHARS - 1].rstrip() + "…"
    return label


def distinct_labels(client_ids: Iterable[str]) -> dict[str, str]:
    """Labels for sources shown together: a repeated label gets a number ("Browser 2")."""
    labels: dict[str, str] = {}
    used: set[str] = set()
    for cid in client_ids:
        base = source_label(cid)
        label, n = base, 2
        while label in used:
            label = f"{base} {n}"
            n += 1
        used.add(label)
        labels[cid] = label
    return labels
