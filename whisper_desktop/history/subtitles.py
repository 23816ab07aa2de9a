"""Utterances cut into subtitle-sized cues: at most ``max_lines`` lines of ``max_chars`` characters
and ``max_seconds`` each. The store keeps only an utterance's start and end, so a long utterance's
time is shared out in proportion to the characters of its parts. No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SubtitleRules:
    max_chars: int = 42  # per line
    max_lines: int = 2  # per cue
    max_seconds: float = 7.0  # per cue


@dataclass(frozen=True)
class SubtitlePart:
    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _words(text: str, max_chars: int) -> list[str]:
    """The words of ``text``; a word longer than a line is cut into line-sized pieces."""
    out: list[str] = []
    for word in text.split():
        while len(word) > max_chars:
            out.append(word[:max_chars])
            word = word[max_chars:]
        if word:
            out.append(word)
    return out


def wrap_lines(words: list[str], max_chars: int) -> list[list[str]]:
    """Greedy line filling: each line's words joined by spaces fit in ``max_chars``."""
    lines: list[list[str]] = []
    length = 0
    for word in words:
        if lines and length + 1 + len(word) <= max_chars:
            lines[-1].append(word)
            length += 1 + len(word)
        else:
            lines.append([word])
            length = len(word)
    return lines


def _balanced(words: list[str], max_chars: int) -> list[str]:
    """Two lines of about equal length when the words need two, else one."""
    lines = wrap_lines(words, max_chars)
    if len(lines) < 2:
        return [" ".join(w) for w in lines]
    best: tuple[int, int] | None = None
    for cut in range(1, len(words)):
        a, b = " ".join(words[:cut]), " ".join(words[cut:])
        if len(a) <= max_chars and len(b) <= max_chars:
            score = abs(len(a) - len(b))
            if best is None or score < best[0]:
                best = (score, cut)
    if best is None:
        return [" ".join(w) for w in lines]
    return [" ".join(words[: best[1]]), " ".join(words[best[1] :])]


def _weight(words: list[str]) -> int:
    return sum(len(w) for w in words) + max(0, len(words) - 1)


def split_utterance(
    text: str, start: float, end: float, rules: SubtitleRules | None = None
) -> list[SubtitlePart]:
    """Cut one utterance into cues that follow ``rules``, in order, covering start..end."""
    rules = rules or SubtitleRules()
    words = _words(text, rules.max_chars)
    if not words:
        return []
    end = max(end, start)
    # cues of whole lines: max_lines lines each
    lines = wrap_lines(words, rules.max_chars)
    groups = [
        [w for line in lines[i : i + rules.max_lines] for w in line]
        for i in range(0, len(lines), rules.max_lines)
    ]
    total = sum(_weight(g) for g in groups) + len(groups) - 1
    seconds_per_char = (end - start) / max(1, total)
    # a cue that would last too long (slow speech) is halved until it fits
    parts: list[list[str]] = []
    pending = groups[::-1]
    while pending:
        group = pending.pop()
        if len(group) > 1 and _weight(group) * seconds_per_char > rules.max_seconds:
            half = len(group) // 2
            pending.extend([group[half:], group[:half]])
        else:
            parts.append(group)
    out: list[SubtitlePart] = []
    offset = 0
    for i, group in enumerate(parts):
        cue_start = start + offset * seconds_per_char
        offset += _weight(group) + 1
        cue_end = end if i == len(parts) - 1 else start + offset * seconds_per_char
        cue_end = min(cue_end, cue_start + rules.max_seconds)  # one word said very slowly
        out.append(SubtitlePart(cue_start, cue_end, tuple(_balanced(group, rules.max_chars))))
    return out
