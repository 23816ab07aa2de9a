"""SRT and VTT as real subtitles: short cues of at most two lines, the text only, VTT escaped."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.history_data import parse_srt
from whisper_desktop.history.exporters import export
from whisper_desktop.history.store import Utterance
from whisper_desktop.history.subtitles import SubtitleRules, split_utterance

VTT_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")
WORDS = "the quick brown fox jumps over a lazy dog while Tom & Jerry <laugh> at 3 > 2 and".split()


def long_text(n_chars: int = 1291) -> str:
    words: list[str] = []
    i = 0
    while len(" ".join(words)) < n_chars:
        words.append(WORDS[i % len(WORDS)])
        i += 1
    text = " ".join(words)[:n_chars].rstrip()
    return text + "." * (n_chars - len(text))


def utterance(text: str, start: float, end: float, client_id: str = "user") -> Utterance:
    return Utterance(1, 1, client_id, start, end, text, True, 0.0, session_started_at=500.0)


def parse_vtt(text: str) -> list[tuple[float, float, list[str]]]:
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        lines = block.split("\n")
        m = VTT_TIME.match(lines[0])
        assert m, lines[0]
        g = [int(x) for x in m.groups()]
        cues.append(
            (
                g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000,
                g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000,
                lines[1:],
            )
        )
    return cues


def check_cues(cues: list[tuple[float, float, list[str]]], start: float, end: float) -> None:
    assert cues[0][0] == pytest.approx(start, abs=0.002)
    assert cues[-1][1] == pytest.approx(end, abs=0.002)
    for (s0, e0, lines), (s1, _, _) in zip(cues, cues[1:] + [(end, end, [])], strict=True):
        assert 0 < e0 - s0 <= 7.0 + 0.002, (s0, e0, lines)
        assert e0 <= s1 + 0.002  # in order, no overlap
        assert 1 <= len(lines) <= 2 and all(0 < len(line) <= 42 for line in lines), lines


def test_a_1291_character_utterance_becomes_short_srt_cues() -> None:
    text = long_text()
    assert len(text) == 1291
    srt = export([utterance(text, 0.0, 80.0)], "srt")
    cues = parse_srt(srt)
    blocks = [b.split("\n")[2:] for b in srt.strip().split("\n\n")]
    check_cues([(s, e, lines) for (_, s, e, _), lines in zip(cues, blocks, strict=True)], 0, 80)
    assert [c[0] for c in cues] == list(range(1, len(cues) + 1))
    assert " ".join(c[3] for c in cues).split() == text.split()  # every word, in order, once
    assert "user" not in srt and "You:" not in srt
    assert len(cues) >= 1291 / 84  # no more than two full lines per cue


def test_vtt_cues_are_short_escaped_and_voiced() -> None:
    text = long_text()
    vtt = export([utterance(text, 0.0, 80.0)], "vtt")
    cues = parse_vtt(vtt)
    assert all(lines[0].startswith("<v You>") for _, _, lines in cues)
    bodies = [[re.sub(r"^<v You>", "", line) for line in lines] for _, _, lines in cues]
    shown = [[html.unescape(line) for line in b] for b in bodies]  # what a player shows
    check_cues([(s, e, b) for (s, e, _), b in zip(cues, shown, strict=True)], 0, 80)
    raw = " ".join(" ".join(b) for b in bodies)
    assert "<" not in raw and ">" not in raw and re.search(r"&(?!amp;|lt;|gt;)", raw) is None
    assert "Tom &amp; Jerry" in raw and "&lt;laugh&gt;" in raw
    assert html.unescape(raw).split() == text.split()


def test_slow_speech_and_long_words_still_fit() -> None:
    parts = split_utterance("a few words said very slowly indeed", 10.0, 70.0)
    assert all(p.end - p.start <= 7.0 + 1e-9 for p in parts)
    assert " ".join(p.text for p in parts).split() == "a few words said very slowly indeed".split()
    url = "https://example.org/" + "x" * 80
    parts = split_utterance(url, 0.0, 2.0)
    assert [line for p in parts for line in p.lines] == [url[:42], url[42:84], url[84:]]


def test_two_lines_are_balanced_and_short_cues_are_one_line() -> None:
    (one,) = split_utterance("Hello world.", 1.0, 2.0)
    assert one.lines == ("Hello world.",) and (one.start, one.end) == (1.0, 2.0)
    (two,) = split_utterance("one two three four five six seven eight nine ten eleven", 0, 3)
    assert len(two.lines) == 2 and abs(len(two.lines[0]) - len(two.lines[1])) <= 6
    rules = SubtitleRules(max_chars=10, max_lines=1, max_seconds=100)
    parts = split_utterance("aaaa bbbb cccc dddd", 0, 4, rules)
    assert [p.lines for p in parts] == [("aaaa bbbb",), ("cccc dddd",)]
    assert parts[0].end == parts[1].start == pytest.approx(2.0, abs=0.3)
