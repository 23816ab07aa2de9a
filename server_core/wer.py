"""Word error rate after Whisper's text normalization (used by tests and benchmarks).

The project's normalization (Whisper's ``EnglishTextNormalizer``, or the basic one for other
languages) makes the words; jiwer counts the edits between them.
"""

from __future__ import annotations

from functools import lru_cache

import jiwer


@lru_cache(maxsize=2)
def _normalizer(english: bool):
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    return EnglishTextNormalizer() if english else BasicTextNormalizer()


def normalize(text: str, english: bool = True) -> list[str]:
    return _normalizer(english)(text).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word substitutions + deletions + insertions that turn ``ref`` into ``hyp``."""
    if not ref or not hyp:  # jiwer refuses an empty reference
        return max(len(ref), len(hyp))
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return out.substitutions + out.deletions + out.insertions


def wer(reference: str, hypothesis: str, english: bool = True) -> float:
    ref = normalize(reference, english)
    hyp = normalize(hypothesis, english)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)
