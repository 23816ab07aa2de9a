"""Human-readable progress lines of model loading, to logging and to the caller."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("server_core.models")

Progress = Callable[[str], None]


class Reporter:
    """Send human-readable progress lines to logging and to the caller's callback."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, message: str) -> None:
        log.info("%s", message)
        if self.progress is not None:
            self.progress(message)
