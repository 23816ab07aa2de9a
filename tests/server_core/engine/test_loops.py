"""What a session does with a repetition loop and with an utterance that never ends, on real
Whisper tokens (the tiny.en tokenizer) and the real Silero VAD, without a Whisper model."""

from __future__ import annotations

import numpy as np
import pytest
from whisper.tokenizer import get_tokenizer

from server_core.config import SAMPLE_RATE, DecodeOptions, VadOptions
from server_core.engine.alignatt import StepResult
from server_core.engine.session import Job, Session
from server_core.engine.stopping import find_loop, word_key
from server_core.engine.window import SAMPLES_PER_FRAME, Window
from server_core.events import TranscriptEvent
from tests.support.streaming import Collected

TOK = get_tokenizer(False)
LOOP = " And so, you know, you're going to be able to do it."


def key(token: int) -> str:
    return word_key(TOK.decode([token]))


def test_a_loop_that_changes_its_capitals_and_punctuation_is_still_a_loop() -> None:
    first = TOK.encode(" Well," + LOOP)
    again = TOK.encode(" and so you know you're going to be able to do it")
    cut = find_loop(first + again, key)
    assert cut == len(first)  # the first sentence stays whole, with its full stop
    assert TOK.decode((first + again)[:cut]).endswith("do it.")


def test_a_loop_fed_by_dropped_context_cuts_the_whole_new_sentence() -> None:
    memory = TOK.encode(" Earlier words." + LOOP)
    new = TOK.encode(LOOP)
    cut = find_loop(memory + new, key)
    assert cut is not None and cut <= len(memory)


def test_a_loop_of_punctuation_alone_is_a_loop() -> None:
    # base once wrote ". . . ." for a whole clip, 477 characters of it
    words = TOK.encode(" Ask not what your country can do for you")
    dots = TOK.encode(" . . . . . . . . . .")
    cut = find_loop(words + dots, key)
    assert cut is not None and len(words) < cut <= len(words) + 2


def test_speech_is_not_a_loop() -> None:
    text = TOK.encode(
        " Printing, in the only sense with which we are at present concerned, differs from most"
        " if not from all the arts and crafts represented in the Exhibition. No, no, no."
    )
    assert find_loop(text, key) is None


def session_with_window(seconds: float) -> tuple[Session, Collected]:
    got = Collected()
    s = Session("system", got, VadOptions(), wake=lambda: None, request_abort=lambda _: None)
    s.segmenter.window = Window(start=0, audio=np.zeros(int(seconds * SAMPLE_RATE), np.float32))
    s.emitter.start_window(0.0)
    return s, got


def step(
    s: Session, text: str, first_frame: int, last_frame: int, looped: bool = False
) -> StepResult:
    win = s.segmenter.window
    assert win is not None
    tokens = TOK.encode(text) if text else []
    frames = np.linspace(first_frame, last_frame, num=len(tokens)).astype(int).tolist()
    job = Job(s, win, win.audio, final=False, full=False)
    result = StepResult(tokens, frames, 0.0, -0.1, "repetition" if looped else "boundary")
    result.looped = looped
    s.apply(job, result, TOK.decode, DecodeOptions(language="en"))
    return result


def test_a_caught_loop_closes_the_utterance_and_drops_what_fed_it() -> None:
    s, got = session_with_window(20.0)
    s.context[:] = TOK.encode(" Earlier words.")
    step(s, LOOP, 10, 150)
    # the next step's decoder repeated the sentence: the repeat was cut, nothing new committed
    step(s, "", 0, 0, looped=True)

    finals = [e for e in got.transcripts if e.final]
    assert len(finals) == 1, got.transcripts  # the utterance was closed
    assert got.text == LOOP.strip()  # its text is whole, said once
    assert s.context == []  # the prompt that fed the loop is gone...
    win = s.segmenter.window
    assert win is not None and win.state.tokens == []  # ...and so is the forced prefix
    assert win.start == 151 * SAMPLES_PER_FRAME  # the audio after the sentence stays
    assert s.segmenter.speech_new == win.audio.shape[0]  # and is decoded afresh
    # searched for loops, but never shown to the decoder again
    assert TOK.decode(s.loop_memory).endswith(LOOP)


def test_text_after_a_loop_starts_a_new_utterance() -> None:
    s, got = session_with_window(20.0)
    step(s, LOOP, 10, 150)
    step(s, " Then", 160, 170, looped=True)  # committed before the loop was cut
    step(s, " the clean speech follows.", 10, 120)
    texts = [(e.text, e.final) for e in got.transcripts]
    assert texts[-1] == (" the clean speech follows.", False), texts
    assert [e.final for e in got.transcripts].count(True) == 1
    assert got.text == LOOP.strip() + " Then the clean speech follows."


def test_an_utterance_longer_than_the_cap_is_closed_and_nothing_is_lost() -> None:
    s, got = session_with_window(28.0)
    sentences = [
        " Printing, in the only sense with which we are at present concerned,",
        " differs from most if not from all the arts and crafts",
        " represented in the Exhibition in being comparatively modern.",
        " For although the Chinese took impressions from wood blocks",
    ]
    cap = DecodeOptions(language="en", max_utterance_chars=100)
    frame = 0
    for text in sentences:
        win = s.segmenter.window
        assert win is not None
        tokens = TOK.encode(text)
        frames = list(range(frame + 5, frame + 5 + 8 * len(tokens), 8))
        frame = frames[-1]
        job = Job(s, win, win.audio, final=False, full=False)
        s.apply(job, StepResult(tokens, frames, 0.0, -0.1, "boundary"), TOK.decode, cap)

    events: list[TranscriptEvent] = got.transcripts
    assert "".join(e.text for e in events) == "".join(sentences)  # no text dropped
    utterances, current = [], ""
    for e in events:
        current += e.text
        if e.final:
            utterances.append(current)
            current = ""
    assert utterances, "the long utterance was never closed"
    assert all(len(u.strip()) < 100 + len(max(sentences, key=len)) for u in utterances)
    # the closed one ends where its last committed word ends, and the next one starts there
    first_final = next(e for e in events if e.final)
    later = events[events.index(first_final) + 1]
    assert later.start == pytest.approx(first_final.end)


def test_an_utterance_longer_than_the_seconds_cap_is_closed() -> None:
    s, got = session_with_window(28.0)
    cap = DecodeOptions(language="en", max_utterance_seconds=5.0)
    for i in range(4):  # 3 s of speech a step
        win = s.segmenter.window
        assert win is not None
        tokens = TOK.encode(f" Sentence number {i} is here.")
        frames = np.linspace(i * 150 + 5, i * 150 + 149, num=len(tokens)).astype(int).tolist()
        job = Job(s, win, win.audio, final=False, full=False)
        s.apply(job, StepResult(tokens, frames, 0.0, -0.1, "boundary"), TOK.decode, cap)
    finals = [e for e in got.transcripts if e.final]
    assert finals and finals[0].end <= 6.1
    assert got.text.count("Sentence number") == 4


def test_a_full_window_that_only_loops_still_moves_on() -> None:
    s, got = session_with_window(20.0)
    win = s.segmenter.window
    assert win is not None
    job = Job(s, win, win.audio[: 12 * SAMPLE_RATE], final=False, full=True)
    s.apply(job, StepResult([], [], 0.0, 0.0, "repetition", looped=True), TOK.decode)
    assert win.start >= 6 * SAMPLE_RATE  # half the window is gone: the next step sees new audio
    assert got.transcripts == []
