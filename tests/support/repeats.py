"""Repetition in transcripts: sentences as a loop check sees them, and the longest run."""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def normalized(sentence: str) -> str:
    """Lower case, punctuation gone: "And so, you know." and "and so you know" are one."""
    return " ".join(re.sub(r"[^\w\s']", " ", sentence.lower()).split())


def sentences(texts: list[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        out += [s for s in (normalized(p) for p in SENTENCE_END.split(text.strip())) if s]
    return out


def longest_run(items: list[str]) -> tuple[int, str]:
    """The most times one item comes in a row, and that item."""
    best, best_item, run = 0, "", 0
    for i, item in enumerate(items):
        run = run + 1 if i and items[i - 1] == item else 1
        if run > best:
            best, best_item = run, item
    return best, best_item
