"""The bench's "words missing": words said, heard offline and lost by the stream."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from server_core.wer import normalize

_spec = importlib.util.spec_from_file_location(
    "bench_latency", Path(__file__).parents[2] / "bench" / "latency.py"
)
latency = importlib.util.module_from_spec(_spec)
sys.modules["bench_latency"] = latency  # its dataclasses look their module up
_spec.loader.exec_module(latency)


def words(text: str) -> list[str]:
    return normalize(text, True)


def test_offline_inventions_after_the_speech_are_not_lost_words() -> None:
    ref = words("to prevent possible infection of others")
    offline = words("to prevent possible infection of others. Under that new law, however.")
    stream = words("to prevent possible infection of others.")
    assert latency.lost_words(ref, offline, stream) == (6, 0)
    assert latency.deletions(offline, stream) == 5  # the earlier metric counts them


def test_a_word_said_heard_and_dropped_is_lost_and_spacing_is_not() -> None:
    ref = words("as regards the lower case letters and type even in the middle")
    offline = words("as regards the lower case letters and type even in the middle")
    stream = words("as regards the lowercase letters and type even the middle")
    assert latency.lost_words(ref, offline, stream) == (12, 1)


def test_a_word_offline_missed_too_is_not_the_streams_loss() -> None:
    ref = words("a glowing account of its splendours recorded by lord byron")
    offline = words("a glowing account of recorded by lord byron")
    stream = words("a glowing account recorded by lord byron")
    heard, lost = latency.lost_words(ref, offline, stream)
    assert (heard, lost) == (8, 1)  # "of": heard offline, dropped by the stream
