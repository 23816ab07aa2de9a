"""Search that folds case for all of Unicode (``über`` finds ``Über``, ``strasse`` finds
``Straße``), for the store's queries and for highlighting matches. No Qt.

The store indexes each utterance's :func:`fold` in an SQLite FTS5 table (unicode61 tokenizer,
diacritics kept: ``arger`` does not find ``Ärger``). A search finds the words of the query in a
row, in order, the last one as a prefix (it is still being typed): :func:`fts_query`. The index
narrows the rows; :func:`contains` then keeps those holding the query as typed, punctuation
included (``100%`` does not find ``100 percent``), which is what the highlight shows.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[^\W_]+")  # what unicode61 calls a token: letters and digits


def fold(text: str) -> str:
    """Case-folded and NFC-normalized: the form both sides are compared in."""
    return unicodedata.normalize("NFC", text).casefold()


def fts_query(needle: str) -> str | None:
    """The FTS5 MATCH expression for ``needle``: its words as one phrase, the last one a
    prefix; None when it has no word (only punctuation) to look up."""
    words = _TOKEN.findall(fold(needle))
    if not words:
        return None
    return '"' + " ".join(words) + '"*'


def contains(text: str | None, needle: str | None) -> bool:
    """Whether ``needle`` occurs in ``text``, ignoring case."""
    if text is None or not needle:
        return False
    return fold(needle) in fold(text)


def match_spans(text: str, needle: str) -> list[tuple[int, int]]:
    """The (start, end) character ranges of ``text`` where ``needle`` occurs, ignoring case.

    Folding may change lengths (``ß`` folds to ``ss``), so each folded character remembers the
    character of ``text`` it came from."""
    target = fold(needle)
    if not target:
        return []
    folded: list[str] = []
    origin: list[int] = []
    nfc = unicodedata.normalize("NFC", text)
    if len(nfc) != len(text):  # decomposed input: compare per character instead
        nfc = text
    for i, ch in enumerate(nfc):
        f = unicodedata.normalize("NFC", ch).casefold()
        folded.append(f)
        origin.extend([i] * len(f))
    haystack = "".join(folded)
    spans: list[tuple[int, int]] = []
    pos = haystack.find(target)
    while pos >= 0:
        start, end = origin[pos], origin[pos + len(target) - 1] + 1
        if not spans or start >= spans[-1][1]:
            spans.append((start, end))
        pos = haystack.find(target, pos + len(target))
    return spans
