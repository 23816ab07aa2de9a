"""Live text files for OBS: one per source, its last finished lines, replaced atomically."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from whisper_desktop.live_text import LiveTextFiles, file_name


def test_each_source_gets_its_last_lines(tmp_path: Path) -> None:
    files = LiveTextFiles(tmp_path / "obs", lines=2)
    files.add_line("You", "First line.")
    path = files.add_line("You", "  Second\nline. ")
    assert path == tmp_path / "obs" / "captions-You.txt"
    assert path.read_text(encoding="utf-8") == "First line.\nSecond line.\n"
    files.add_line("You", "Third line, über alles.")
    assert path.read_text(encoding="utf-8") == "Second line.\nThird line, über alles.\n"
    files.add_line("System", "From the speakers.")
    assert (tmp_path / "obs" / "captions-System.txt").read_text() == "From the speakers.\n"
    assert sorted(p.name for p in (tmp_path / "obs").iterdir()) == [
        "captions-System.txt",
        "captions-You.txt",
    ]  # no temporary files left behind
    files.lines = 1
    files.add_line("You", "Fourth.")
    assert path.read_text() == "Fourth.\n"


def test_file_names_are_safe() -> None:
    assert file_name("Phone 2") == "captions-Phone_2.txt"
    assert file_name("../etc/passwd") == "captions-etc_passwd.txt"
    assert file_name("") == "captions-source.txt"


def test_a_reader_never_sees_half_a_file(tmp_path: Path) -> None:
    files = LiveTextFiles(tmp_path, lines=3)
    path = files.add_line("You", "start")
    seen: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(path.read_text(encoding="utf-8"))

    reader = threading.Thread(target=read)
    reader.start()
    long = "word " * 2000
    for i in range(200):
        files.add_line("You", f"{i} {long}")
    stop.set()
    reader.join()
    assert all(text.endswith("\n") for text in seen)  # always a whole file
    starts = ("start", *(f"{i} " for i in range(200)))
    assert all(line.startswith(starts) for text in seen for line in text.splitlines())
    assert len(seen) > 1


def test_an_unusable_folder_raises_and_keeps_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.write_text("a file where the folder should be")
    files = LiveTextFiles(folder)
    with pytest.raises(OSError):
        files.add_line("You", "kept")
    folder.unlink()
    assert files.add_line("You", "next").read_text() == "kept\nnext\n"
