"""Where the desktop app keeps its data. No Qt here: the history CLI uses it too."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "whisper-desktop"
APP_AUTHOR = "whisper-desktop"
DATA_DIR_ENV = "WHISPER_DESKTOP_DATA_DIR"
HISTORY_DB_NAME = "history.sqlite3"
SETTINGS_FILE_NAME = "settings.ini"


def default_data_dir() -> Path:
    """The per-user data folder (platformdirs), or ``$WHISPER_DESKTOP_DATA_DIR`` if set."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, APP_AUTHOR))


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """``--data-dir`` when given, else the default; the folder is created."""
    path = Path(data_dir).expanduser() if data_dir else default_data_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def history_db_path(data_dir: Path) -> Path:
    return data_dir / HISTORY_DB_NAME
