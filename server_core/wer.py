"""Word error rate after Whisper's text normalization (used by tests and benchmarks)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=2)
def _normalizer(english: bool):
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    return EnglishTextNormalizer() if english else BasicTextNormalizer()


def normalize(text: str, english: bool = True) -> list[str]:
    return _normalizer(english)(text).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(reference: str, hypothesis: str, english: bool = True) -> float:
    ref = normalize(reference, english)
    hyp = normalize(hypothesis, english)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)
