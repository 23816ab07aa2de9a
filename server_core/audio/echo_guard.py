"""The text-level second line against echo: a microphone utterance that repeats what the system
audio just said is the speakers heard by the microphone, not the user.

The echo canceller (:mod:`server_core.audio.echo`) removes nearly all of it; what slips through
(a canceller still converging, a loud room) is transcribed as the user's words, usually a few
hundred milliseconds after the System source shows the same words. The guard compares each
microphone utterance, word by word as it streams in, with the System source's recent words:

- while the system audio is silent and its row has said nothing for ``window_seconds``,
  everything passes at once;
- otherwise the utterance's words wait (at most ``hold_seconds``) until they are clearly an
  echo (most of them are in the System row's recent words, in order: a fuzzy match on
  normalised words, tolerating the odd misheard word) or clearly the user's own. While the
  system audio is playing they wait the whole time, since the System row may show the same
  words a moment later than the microphone's;
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
    sound_seconds: float = 3.0  # the system audio was loud this recently: its words may follow
    hold_seconds: float = 2.0  # an undecided utterance's words wait at most this long
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
    closed: bool = False  # its last item came


class EchoGuard(Generic[T]):
    """Filters one microphone source's transcript items against one system source's words.

    Items are whatever the caller shows (events); the guard only reads their text and whether
    they close an utterance, through the arguments of :meth:`user`. Items come out in the order
    they went in.
    """

    def __init__(self, options: EchoGuardOptions = EchoGuardOptions()) -> None:
        self.options = options
        self._system: deque[tuple[float, str]] = deque()
        self._sound_at: float | None = None
        self._pending: deque[_Utterance[T]] = deque()  # oldest first; the last may be open
        self.dropped_words = 0
        self.dropped: deque[T] = deque(maxlen=64)  # the latest items found to be echo

    # -- input ----------------------------------------------------------------------------

    def system(self, text: str, now: float) -> list[T]:
        """The System source showed ``text``; returns held items that may now be shown."""
        self._system.extend((now, w) for w in words_of(text))
        return self.tick(now)

    def system_sound(self, now: float) -> None:
        """The system audio is playing something (its words may come a little later)."""
        self._sound_at = now

    def user(self, item: T, text: str, final: bool, now: float) -> list[T]:
        """A microphone item; returns the items to show now (this one, earlier held ones, or
        none while they wait or when they are an echo)."""
        if not self._pending or self._pending[-1].closed:
            self._pending.append(_Utterance())
        u = self._pending[-1]
        new_words = words_of(text)
        u.words.extend(new_words)
        u.closed = final
        shown: list[T] = []
        if u.verdict is Verdict.ECHO and self._echoes(new_words):
            self._drop([item], new_words)
        else:
            if u.verdict is Verdict.ECHO:  # the user speaks after the echo, in one utterance
                u.verdict = Verdict.UNDECIDED
                u.words = list(new_words)
                u.held_since = None
            u.held.append(item)
            if u.held_since is None:
                u.held_since = now
        return shown + self.tick(now)

    def tick(self, now: float) -> list[T]:
        """Items whose verdict came (or whose wait is over), oldest first."""
        self._forget(now)
        shown: list[T] = []
        for u in self._pending:
            self._evaluate(u, now)
        while self._pending:
            u = self._pending[0]
            if u.verdict is Verdict.OWN:
                shown += u.held
                u.held = []
            if u.verdict is Verdict.UNDECIDED or not u.closed:
                break  # later utterances wait behind it: the order stays
            self._pending.popleft()
        return shown

    def reset(self) -> list[T]:
        """Forget everything (a source stopped); nothing held is lost: it is returned."""
        held = [item for u in self._pending if u.verdict is not Verdict.ECHO for item in u.held]
        self._pending.clear()
        self._system.clear()
        self._sound_at = None
        return held

    # -- the verdict ------------------------------------------------------------------------

    def _forget(self, now: float) -> None:
        while self._system and now - self._system[0][0] > self.options.window_seconds:
            self._system.popleft()

    def _sounding(self, now: float) -> bool:
        return self._sound_at is not None and now - self._sound_at <= self.options.sound_seconds

    def _matched_share(self, words: Sequence[str]) -> float:
        if not words or not self._system:
            return 0.0
        errors = best_match_errors(words, [w for _, w in self._system])
        return 1.0 - errors / len(words)

    def _echoes(self, words: Sequence[str]) -> bool:
        return self._matched_share(words) >= self.options.echo_share

    def _evaluate(self, u: _Utterance[T], now: float) -> None:
        if u.verdict is not Verdict.UNDECIDED or not u.held:
            return
        o = self.options
        sounding = self._sounding(now)
        if not self._system and not sounding:
            u.verdict = Verdict.OWN  # the system audio is silent: nothing to echo
            return
        share = self._matched_share(u.words)
        expired = u.held_since is not None and now - u.held_since >= o.hold_seconds
        if (
            len(u.words) >= o.min_echo_words
            and share >= o.echo_share
            and (len(u.words) >= o.decide_words or u.closed or expired)
        ):
            u.verdict = Verdict.ECHO
            self._drop(u.held, u.words)
            u.held = []
            return
        if expired:
            u.verdict = Verdict.OWN
            return
        if sounding:
            return  # the System row may still be about to show these words: wait
        if share == 0.0 or (len(u.words) >= o.decide_words and share <= o.own_share) or u.closed:
            u.verdict = Verdict.OWN

    def _drop(self, items: list[T], words: Sequence[str]) -> None:
        self.dropped_words += len(words)
        self.dropped.extend(items)
        log.debug(
            "echo guard: not the user's (%d item(s)), the system audio said it: %r",
            len(items),
            " ".join(words),
        )
