"""The text-level second line against echo: a microphone utterance that repeats what the system
audio just said is the speakers heard by the microphone, not the user.

The echo canceller (:mod:`server_core.audio.echo`) removes nearly all of it; what slips through
(a canceller still converging, a loud room) is transcribed as the user's words, usually a few
hundred milliseconds after the System source shows the same words. The guard compares each
microphone utterance, word by word as it streams in, with the System source's recent words:

- while the System source has said nothing for ``window_seconds``, everything passes at once;
- otherwise the utterance's first words wait (at most ``hold_seconds``) until they are clearly
  the user's own (few of them in the System words) or clearly an echo (most of them are, in
  order): a fuzzy match on normalised words, tolerating the odd misheard word;
- an echo is dropped (logged at debug level); an utterance that is not in the System words is
  never dropped, and one-word utterances always pass.

It keeps no clock of its own and starts no thread: the caller passes the time, and calls
:meth:`EchoGuard.tick` now and then to release words whose wait is over.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def words_of(text: str) -> list[str]:
    """Lower-case words without punctuation ("Country's," -> "countrys")."""
    return [w.casefold().replace("'", "").replace("’", "") for w in _WORD.findall(text)]


def best_match_errors(needle: Sequence[str], haystack: Sequence[str]) -> int:
    """The fewest word edits that turn ``needle`` into some stretch of ``haystack``
    (semi-global edit distance: the stretch may start and end anywhere)."""
    if not needle:
        return 0
    previous = [0] * (len(haystack) + 1)  # a match may start at any position: no cost
    for i, word in enumerate(needle, start=1):
        current = [i] + [0] * len(haystack)
        for j, other in enumerate(haystack, start=1):
            current[j] = min(
                previous[j - 1] + (word != other),
                previous[j] + 1,  # a word of the needle missing from the stretch
                current[j - 1] + 1,  # an extra word in the stretch
            )
        previous = current
    return min(previous)  # and end at any position


class Verdict(str, Enum):
    UNDECIDED = "undecided"
    OWN = "own"
    ECHO = "echo"


@dataclass(frozen=True)
class EchoGuardOptions:
    window_seconds: float = 10.0  # System words this recent count
    hold_seconds: float = 1.5  # an undecided utterance's words wait at most this long
    decide_words: int = 3  # words after which the verdict need not wait
    echo_share: float = 0.7  # at least this share of the words matched: an echo
    own_share: float = 0.4  # at most this share matched: the user's own
    min_echo_words: int = 2  # shorter utterances always pass


@dataclass
class _Utterance(Generic[T]):
    words: list[str] = field(default_factory=list)
    held: list[T] = field(default_factory=list)
    held_since: float | None = None
    verdict: Verdict = Verdict.UNDECIDED


class EchoGuard(Generic[T]):
    """Filters one microphone source's transcript items against one system source's words.

    Items are whatever the caller shows (events); the guard only reads their text and whether
    they close an utterance, through the arguments of :meth:`user`.
    """

    def __init__(self, options: EchoGuardOptions = EchoGuardOptions()) -> None:
        self.options = options
        self._system: deque[tuple[float, str]] = deque()
        self._utterance: _Utterance[T] = _Utterance()
        self.dropped_words = 0

    # -- input ----------------------------------------------------------------------------

    def system(self, text: str, now: float) -> list[T]:
        """The System source showed ``text``; returns held items that may now be shown."""
        self._system.extend((now, w) for w in words_of(text))
        self._forget(now)
        return self._evaluate(now, closing=False)

    def user(self, item: T, text: str, final: bool, now: float) -> list[T]:
        """A microphone item; returns the items to show now (this one, earlier held ones, or
        none while they wait or when they are an echo)."""
        self._forget(now)
        u = self._utterance
        new_words = words_of(text)
        u.words.extend(new_words)
        if u.verdict is Verdict.OWN:
            shown = [item]
        elif u.verdict is Verdict.ECHO and self._echoes(new_words):
            self._drop([item], new_words)
            shown = []
        else:
            if u.verdict is Verdict.ECHO:  # the user speaks after the echo, in one utterance
                u.verdict = Verdict.UNDECIDED
                u.words = list(new_words)
            u.held.append(item)
            if u.held_since is None:
                u.held_since = now
            shown = self._evaluate(now, closing=final)
        if final:
            self._utterance = _Utterance()
        return shown

    def tick(self, now: float) -> list[T]:
        """Items whose wait is over."""
        self._forget(now)
        return self._evaluate(now, closing=False)

    def reset(self) -> list[T]:
        """Forget everything (a source stopped); nothing held is lost: it is returned."""
        held = self._utterance.held
        self._utterance = _Utterance()
        self._system.clear()
        return held

    # -- the verdict ------------------------------------------------------------------------

    def _forget(self, now: float) -> None:
        while self._system and now - self._system[0][0] > self.options.window_seconds:
            self._system.popleft()

    def _matched_share(self, words: Sequence[str]) -> float:
        if not words:
            return 0.0
        errors = best_match_errors(words, [w for _, w in self._system])
        return 1.0 - errors / len(words)

    def _echoes(self, words: Sequence[str]) -> bool:
        return bool(self._system) and self._matched_share(words) >= self.options.echo_share

    def _evaluate(self, now: float, closing: bool) -> list[T]:
        u = self._utterance
        if u.verdict is not Verdict.UNDECIDED or not u.held:
            return []
        o = self.options
        if not self._system:
            return self._release()
        share = self._matched_share(u.words)
        expired = u.held_since is not None and now - u.held_since >= o.hold_seconds
        if len(u.words) >= o.decide_words or closing or expired:
            if len(u.words) >= o.min_echo_words and share >= o.echo_share:
                u.verdict = Verdict.ECHO
                self._drop(u.held, u.words)
                u.held = []
                return []
            if len(u.words) >= o.decide_words and share > o.own_share and not (closing or expired):
                return []  # neither clearly: wait for more words
            return self._release()
        if u.words and share == 0.0:
            return self._release()  # not one of its words was said by the System source
        return []

    def _release(self) -> list[T]:
        u = self._utterance
        u.verdict = Verdict.OWN
        held, u.held = u.held, []
        return held

    def _drop(self, items: list[T], words: Sequence[str]) -> None:
        self.dropped_words += len(words)
        log.debug(
            "echo guard: not the user's (%d item(s)), the system audio said it: %r",
            len(items),
            " ".join(words),
        )
