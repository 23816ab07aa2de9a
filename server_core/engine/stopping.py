"""How one hypothesis of a step stops: where each token is read in the audio (AlignAtt's
alignment heads, and the "glance past the end" rule) and repetition loops; the state of a row
while it is decoded. Shared by greedy decoding (:mod:`alignatt`) and the beam search
(:mod:`beam`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import torch
from whisper.tokenizer import Tokenizer

from server_core.engine.window import WindowState

PAST_END_FRAMES = 0  # a word read from past the end of the audio is not in the audio
# ...unless the text so far is this far (2 s) from the audio's end: then the alignment heads
# glanced at the padding (overlapping voices do that), and the word is read where they look
# most within the audio. Stopping there would lose the rest of the audio's words.
PAST_END_GLANCE_FRAMES = 100


@dataclass
class Decoded:
    tokens: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    stop_reason: str = "length"
    no_speech_prob: float = 0.0


LOOP_CONTEXT = 64  # tokens of the prompt's previous text searched for a loop


def find_repetition(tokens: Sequence[Hashable], max_ngram: int = 32) -> int | None:
    """Index from which ``tokens`` ends in a loop (the same n-gram over and over), or None.

    The first occurrence is kept; the repeats after it are what the returned index cuts off.
    """
    tokens = list(tokens)
    n_tokens = len(tokens)
    for n in range(1, max_ngram + 1):
        needed = 5 if n == 1 else 3 if n <= 4 else 2
        if n * needed > n_tokens:
            continue
        pattern = tokens[-n:]
        reps = 1
        while (reps + 1) * n <= n_tokens and tokens[-(reps + 1) * n : -reps * n] == pattern:
            reps += 1
        if reps >= needed:
            return n_tokens - (reps - 1) * n
    return None


_NOT_A_WORD = re.compile(r"[^\w']+")


def word_key(piece: str) -> str:
    """A token's text as a loop sees it: case and punctuation do not make a new sentence."""
    return _NOT_A_WORD.sub("", piece.lower().replace("\u2019", "'"))


def find_loop(tokens: list[int], key: Callable[[int], str]) -> int | None:
    """Index from which ``tokens`` ends in a loop, as tokens or as words by ``key``.

    "And so, you know" and "and so you know." are the same words: a loop that changes its
    capitals or punctuation on each turn is still found (tokens with an empty key, punctuation,
    are skipped there, and the cut falls on the first word token of the first repeat). A loop of
    punctuation alone (". . . .") is found as tokens.
    """
    exact = find_repetition(tokens)
    at = [i for i, t in enumerate(tokens) if key(t)]
    cut = find_repetition([key(tokens[i]) for i in at])
    words = None if cut is None else at[cut] if cut < len(at) else len(tokens)
    found = [c for c in (exact, words) if c is not None]
    return min(found) if found else None


def _is_word(tokenizer: Tokenizer, token: int) -> bool:
    return any(c.isalnum() for c in tokenizer.decode([token]))


def token_frame(
    tokenizer: Tokenizer, token: int, alignment: torch.Tensor, n_frames: int, frames: list[int]
) -> int | None:
    """The encoder frame ``token`` is read from (its alignment heads' most attended one), given
    the frames of the text before it; None for a word read from the padding after the audio
    while the text is near the audio's end (Whisper making text up)."""
    frame = int(alignment.argmax())
    if frame >= n_frames + PAST_END_FRAMES and _is_word(tokenizer, token):
        if not frames or frames[-1] < n_frames - PAST_END_GLANCE_FRAMES:
            return int(alignment[:n_frames].argmax())
        return None
    return frame


@dataclass
class StepRequest:
    """One session's part of a step."""

    features: torch.Tensor  # (frames, n_audio_state): the encoded window and its padding
    n_samples: int  # samples of audio in the window (the rest of the features is padding)
    tokenizer: Tokenizer
    prompt: list[int]
    window: WindowState
    final: bool  # commit everything: the utterance closed
    full: bool = False  # the window cannot grow: no agreement with a next look
    beams: int = 1  # 1: greedy; more: a beam search of that width
    # text that left the prompt when a loop was cut: still searched, so the loop cannot
    # come back in the next step where no prompt shows it any more
    loop_context: list[int] = field(default_factory=list)


@dataclass
class Row:
    """A request while its tokens are decoded."""

    request: StepRequest
    n_frames: int
    stop_frame: int | None
    max_total: int
    suppressed: torch.Tensor
    context: list[int] = field(default_factory=list)  # the prompt's previous text
    out: Decoded = field(default_factory=Decoded)
