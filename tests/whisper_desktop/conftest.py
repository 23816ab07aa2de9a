"""The desktop tests: the one Qt set-up, done before any of them imports Qt, and a filled
history store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.desktop_app import make_app  # noqa: F401 (a fixture for the tests here)
from tests.support.history_data import fill
from tests.support.qt import use_offscreen_qt
from whisper_desktop.history.store import HistoryStore
from whisper_desktop.paths import history_db_path

use_offscreen_qt()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    """A history store in ``tmp_path`` with two local sources and a remote client."""
    s = HistoryStore(history_db_path(tmp_path))
    fill(s)
    yield s
    s.close()
