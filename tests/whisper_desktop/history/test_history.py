"""Transcript history without Qt: the store, the event recorder, TXT/SRT/VTT export, the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import run_python
from tests.support.history_data import parse_srt
from whisper_desktop.history.exporters import export, format_timestamp
from whisper_desktop.history.recorder import HistoryRecorder
from whisper_desktop.history.store import HistoryStore
from whisper_desktop.paths import history_db_path


def test_recorder_commits_utterances_per_client(store: HistoryStore) -> None:
    texts = [(u.client_id, u.text, u.final) for u in store.utterances()]
    assert texts == [
        ("user", "Hello world.", True),
        ("system", "The weather is fine today.", True),
        ("user", "Second sentence here.", True),
        ("phone-1", "Remote words", True),
    ]
    user = store.utterances(client_id="user")
    assert (user[0].start, user[0].end) == (0.4, 1.6)
    assert [s.client_id for s in store.sessions()] == ["phone-1", "system", "user"]
    assert all(s.ended_at is not None for s in store.sessions())
    assert [u.text for u in store.utterances(search="weather")] == ["The weather is fine today."]
    assert store.utterances(search="100%") == []


def test_every_event_is_committed_at_once(tmp_path: Path) -> None:
    """A second connection (another process) sees partial text before the utterance ends."""
    db = history_db_path(tmp_path)
    writer = HistoryStore(db)
    rec = HistoryRecorder(writer)
    rec.add("user", " partial words", 0.0, 1.0, False)
    with HistoryStore(db) as reader:
        (u,) = reader.utterances()
        assert (u.text, u.final) == ("partial words", False)
    rec.add("user", " and the end.", 1.0, 2.0, True)
    with HistoryStore(db) as reader:
        (u,) = reader.utterances()
        assert (u.text, u.final, u.end) == ("partial words and the end.", True, 2.0)
    writer.close()


def test_srt_export_parses(store: HistoryStore) -> None:
    cues = parse_srt(export(store.utterances(), "srt"))
    assert [c[0] for c in cues] == list(range(1, len(cues) + 1))
    starts = [c[1] for c in cues]
    assert starts == sorted(starts) == [0.4, 0.7, 3.0, 10.0]  # system began 0.5 s after user
    assert all(end > start for _, start, end, _ in cues)
    assert cues[0][3] == "Hello world."  # the text only: no speaker prefix in SRT
    assert cues[1][3] == "The weather is fine today."
    assert cues[3][1] == pytest.approx(10.0)  # the remote session began 10 s later


def test_vtt_and_txt_export(store: HistoryStore) -> None:
    vtt = export(store.utterances(client_id="system"), "vtt")
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:00.200 --> 00:00:02.500\n<v System>The weather is fine today." in vtt
    txt = export(store.utterances(), "txt").splitlines()
    assert txt[0] == "[00:00:00] You: Hello world."
    assert txt[-1] == "[00:00:10] Phone 1: Remote words"
    assert export([], "srt") == ""


def test_timestamps() -> None:
    assert format_timestamp(3725.0456, ",") == "01:02:05,046"
    assert format_timestamp(-1, ".") == "00:00:00.000"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "from whisper_desktop.main import main\n"
        "rc = main(sys.argv[1:])\n"
        "assert 'PySide6' not in sys.modules, 'the history CLI imported Qt'\n"
        "sys.exit(rc)\n"
    )
    return run_python(code, *args, timeout=60)


def test_history_cli_exports_without_qt(store: HistoryStore, tmp_path: Path) -> None:
    r = run_cli(
        "history", "export", "--format", "srt", "--client", "user", "--data-dir", str(tmp_path)
    )
    assert r.returncode == 0, r.stderr
    cues = parse_srt(r.stdout)
    assert [c[3] for c in cues] == ["Hello world.", "Second sentence here."]
    out = tmp_path / "all.vtt"
    r = run_cli("history", "export", "--format", "vtt", "-o", str(out), "--data-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert out.read_text().count(" --> ") == 4
    r = run_cli("history", "sessions", "--data-dir", str(tmp_path))
    assert r.returncode == 0 and "phone-1" in r.stdout and "tiny.en" in r.stdout
    r = run_cli("history", "export", "--data-dir", str(tmp_path / "empty"))
    assert r.returncode == 1 and "no history" in r.stderr


def test_recorder_writes_nothing_while_the_history_is_off(tmp_path: Path) -> None:
    store = HistoryStore(history_db_path(tmp_path))
    rec = HistoryRecorder(store, enabled=False)
    assert rec.session_started("user") is None
    rec.add("user", " private words.", 0.0, 1.0, True)
    assert store.utterances() == [] and store.sessions() == []
    rec.set_enabled(True)
    rec.add("user", " kept words", 1.0, 2.0, False)
    assert rec.open_session_ids() == {store.sessions()[0].id}
    rec.set_enabled(False)  # closes the open session, keeps what was said
    assert rec.open_session_ids() == set()
    rec.add("user", " not kept.", 2.0, 3.0, True)
    assert [(u.text, u.final) for u in store.utterances()] == [("kept words", True)]
    assert store.sessions()[0].ended_at is not None
    store.close()
