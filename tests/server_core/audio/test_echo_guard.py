"""The text guard: a microphone utterance that repeats the system audio's recent words is not
the user's; anything else always is."""

from __future__ import annotations

import logging

from server_core.audio.echo_guard import EchoGuard, EchoGuardOptions, best_match_errors, words_of

TALK = (
    "In the old print each figure has its definite individuality, and one cannot be mistaken "
    "for the other; in reading the modern figures the eyes must be strained"
)


def feed(guard: EchoGuard, chunks: list[str], t0: float, step: float = 0.3) -> list[str]:
    shown: list[str] = []
    for i, chunk in enumerate(chunks):
        shown += guard.user(chunk, chunk, i == len(chunks) - 1, t0 + i * step)
    return shown


def test_words_and_fuzzy_match() -> None:
    assert words_of("Country's, FIGURE!") == ["countrys", "figure"]
    talk = words_of(TALK)
    assert best_match_errors(words_of("each figure has its definite"), talk) == 0
    assert best_match_errors(words_of("each figure had its definite"), talk) == 1
    assert best_match_errors(words_of("ask not what your country"), talk) == 5


def test_an_echo_of_the_system_audio_is_dropped_and_logged(caplog) -> None:
    guard: EchoGuard[str] = EchoGuard()
    assert guard.system(TALK, now=10.0) == []
    with caplog.at_level(logging.DEBUG, logger="server_core.audio.echo_guard"):
        shown = feed(guard, [" In the old", " print each figure", " has its definite."], 10.5)
    assert shown == []
    assert guard.dropped_words == 9
    assert "not the user's" in caplog.text


def test_a_misheard_echo_is_still_an_echo() -> None:
    guard: EchoGuard[str] = EchoGuard()
    guard.system(TALK, now=0.0)
    assert feed(guard, [" and one cannot", " be mistook for", " the other."], 1.0) == []


def test_the_users_own_words_pass_at_once_while_the_system_talks() -> None:
    guard: EchoGuard[str] = EchoGuard()
    guard.system(TALK, now=0.0)
    # not one word of it was in the system audio: no wait
    assert guard.user(" Ask not", " Ask not", False, 0.5) == [" Ask not"]
    assert guard.user(" what your country", " what your country", True, 0.8) == [
        " what your country"
    ]


def test_without_system_words_nothing_waits() -> None:
    guard: EchoGuard[str] = EchoGuard()
    assert guard.user(" In the old", " In the old", False, 0.0) == [" In the old"]
    guard2: EchoGuard[str] = EchoGuard()
    guard2.system(TALK, now=0.0)
    # the system's words are older than the window: forgotten
    assert guard2.user(" In the old", " In the old", False, 30.0) == [" In the old"]


def test_words_in_doubt_wait_and_then_pass() -> None:
    guard: EchoGuard[str] = EchoGuard(EchoGuardOptions(hold_seconds=1.5))
    guard.system(TALK, now=0.0)
    # "the figures" are words of the talk: in doubt, held
    assert guard.user(" the figures", " the figures", False, 1.0) == []
    assert guard.tick(2.0) == []
    assert guard.tick(2.6) == [" the figures"]  # the wait is over: it is the user's
    assert guard.user(" were wrong.", " were wrong.", True, 2.8) == [" were wrong."]


def test_one_word_utterances_always_pass() -> None:
    guard: EchoGuard[str] = EchoGuard()
    guard.system(TALK, now=0.0)
    assert guard.user(" Figures.", " Figures.", True, 0.5) == [" Figures."]


def test_the_user_speaking_after_an_echo_in_one_utterance_is_shown() -> None:
    guard: EchoGuard[str] = EchoGuard()
    guard.system(TALK, now=0.0)
    assert feed(guard, [" in reading the", " modern figures the"], 0.5) == []
    shown = guard.user(" Ask not what", " Ask not what", False, 1.5)
    shown += guard.user(" your country can do.", " your country can do.", True, 1.8)
    assert shown == [" Ask not what", " your country can do."]


def test_the_system_catching_up_confirms_an_echo() -> None:
    guard: EchoGuard[str] = EchoGuard()
    guard.system("A talk about printing.", now=0.0)
    assert guard.user(" In the old", " In the old", False, 1.0) == [" In the old"]  # own so far
    guard2: EchoGuard[str] = EchoGuard()
    guard2.system("the old days", now=0.0)
    assert guard2.user(" In the old", " In the old", False, 1.0) == []  # in doubt: held
    assert guard2.system(TALK, now=1.2) == []  # now it is plainly the talk
    assert guard2.user(" print each figure.", " print each figure.", True, 1.4) == []
    assert guard2.dropped_words == 6


def test_while_the_system_audio_plays_the_microphone_waits_for_its_words() -> None:
    guard: EchoGuard[str] = EchoGuard(EchoGuardOptions(hold_seconds=2.0))
    guard.system_sound(0.0)
    # the microphone's transcript of the echo comes before the System row's
    assert feed(guard, [" In the old print", " each figure."], 0.2) == []
    assert guard.system(TALK, now=1.0) == []  # now it is plainly the talk: dropped
    assert guard.dropped_words == 6
    guard.system_sound(1.5)
    assert guard.user(" Ask not what", " Ask not what", False, 1.6) == []  # waits...
    assert guard.tick(3.0) == []
    assert guard.tick(3.7) == [" Ask not what"]  # ...and is the user's once the wait is over


def test_the_order_of_utterances_is_kept() -> None:
    guard: EchoGuard[str] = EchoGuard(EchoGuardOptions(hold_seconds=2.0))
    guard.system_sound(0.0)
    assert guard.user(" First one.", " First one.", True, 0.1) == []
    assert guard.user(" Second one.", " Second one.", True, 0.5) == []
    assert guard.tick(2.2) == [" First one."]
    assert guard.tick(2.6) == [" Second one."]
