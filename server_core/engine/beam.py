"""Beam search under the AlignAtt policy, for the rows of a step that asked for ``beams > 1``.

Each session keeps ``beams`` hypotheses after its committed tokens (the forced prefix, shared
by all of them and never changed). A hypothesis is scored by the sum of its tokens' log-probs;
each step expands every live one by its best ``beams + 1`` tokens and keeps the ``beams`` best
expansions. An expansion ends the hypothesis, exactly as greedy decoding ends a row, when its
token is end-of-text, when its own alignment-head attention reaches the boundary frames
(AlignAtt) or reads a word from past the audio's end (the glance rule), when it loops, or at
the length cap. A session is done once it has ``beams`` finished hypotheses or none live; the
best finished one by length-normalised score (the sum over its tokens, the ending one
included, divided by their number) is what the step returns, in greedy's form.

Every session's hypotheses are rows of one batch; the self-attention cache follows them by
row index (``BatchDecoder.keep`` with the parents' indices), so memory stays at ``beams`` rows
per session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from server_core.engine.decoder import BatchDecoder
from server_core.engine.stopping import Decoded, Row, find_loop, token_frame


@dataclass
class _Hypothesis:
    tokens: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    score: float = 0.0  # sum of the log-probs

    def extended(self, token: int, frame: int, logprob: float) -> _Hypothesis:
        return _Hypothesis(
            [*self.tokens, token],
            [*self.frames, frame],
            [*self.logprobs, logprob],
            self.score + logprob,
        )


@dataclass
class _Candidate:
    score: float  # the parent's score plus this token's log-prob
    parent: int  # index among the session's live hypotheses
    token: int
    logprob: float


class _Search:
    """One session's beam."""

    def __init__(self, row: Row, key: Callable[[int], str]) -> None:
        self.row = row
        self.key = key  # a token's text as the loop search compares it
        self.width = row.request.beams
        self.finished: list[tuple[float, Decoded]] = []  # (normalised score, result)
        self._seen: set[tuple[int, ...]] = set()

    @property
    def done(self) -> bool:
        return len(self.finished) >= self.width

    def _finish(self, decoded: Decoded, score: float, length: int, key: list[int]) -> None:
        if tuple(key) in self._seen:  # e.g. one prefix at the boundary with two waiting tokens
            return
        self._seen.add(tuple(key))
        self.finished.append((score / max(1, length), decoded))

    def expand(
        self, live: list[_Hypothesis], logits: torch.Tensor, alignment: torch.Tensor
    ) -> list[tuple[int, _Hypothesis]]:
        """The next live hypotheses, each with its parent's index in ``live``; the ones that
        end here are added to ``finished``."""
        row, r = self.row, self.row.request
        tokenizer, committed = r.tokenizer, r.window.tokens
        candidates: list[_Candidate] = []
        for p, hyp in enumerate(live):
            if len(committed) + len(hyp.tokens) >= row.max_total:
                out = Decoded(hyp.tokens, hyp.frames, hyp.logprobs, "length")
                self._finish(out, hyp.score, len(hyp.tokens), hyp.tokens)
                continue
            last = logits[p].masked_fill(row.suppressed, -np.inf)
            if len(committed) == r.window.closed and not hyp.tokens:
                last[tokenizer.eot] = -np.inf
                last[tokenizer.encode(" ")] = -np.inf
            values, ids = F.log_softmax(last.float(), dim=-1).topk(self.width + 1)
            for v, t in zip(values.tolist(), ids.tolist(), strict=True):
                if v > -np.inf:
                    candidates.append(_Candidate(hyp.score + v, p, t, v))
        candidates.sort(key=lambda c: -c.score)
        following: list[tuple[int, _Hypothesis]] = []
        for c in candidates:
            if len(following) == self.width or self.done:
                break
            hyp = live[c.parent]
            length = len(hyp.tokens) + 1
            if c.token == tokenizer.eot:
                out = Decoded(hyp.tokens, hyp.frames, hyp.logprobs, "eot")
                self._finish(out, c.score, length, hyp.tokens)
                continue
            frames = hyp.frames or r.window.frames
            frame = token_frame(tokenizer, c.token, alignment[c.parent], row.n_frames, frames)
            if frame is None:
                out = Decoded(hyp.tokens, hyp.frames, hyp.logprobs, "past_end")
                self._finish(out, c.score, length, hyp.tokens)
                continue
            if row.stop_frame is not None and frame >= row.stop_frame:
                # the waiting token stays, for the word check; greedy gives it no log-prob
                out = Decoded(
                    [*hyp.tokens, c.token], [*hyp.frames, frame], [*hyp.logprobs, 0.0], "boundary"
                )
                self._finish(out, c.score, length, hyp.tokens)
                continue
            new = hyp.extended(c.token, frame, c.logprob)
            cut = find_loop(row.context + committed + new.tokens, self.key)
            if cut is not None:
                keep = max(0, cut - len(row.context) - len(committed))
                out = Decoded(new.tokens[:keep], new.frames[:keep], new.logprobs[:keep])
                out.stop_reason = "repetition"
                self._finish(out, c.score, length, out.tokens)
                continue
            following.append((c.parent, new))
        return following

    def best(self, live: list[_Hypothesis]) -> Decoded:
        if not self.finished:  # cannot happen (a search ends with no live hypotheses)
            for hyp in live:
                out = Decoded(hyp.tokens, hyp.frames, hyp.logprobs, "length")
                self._finish(out, hyp.score, len(hyp.tokens), hyp.tokens)
        return max(self.finished, key=lambda f: f[0])[1]


@torch.inference_mode()
def beam_search(
    batch: BatchDecoder, rows: list[Row], device: torch.device, key: Callable[[int], str]
) -> None:
    """Decode every row with a beam of ``row.request.beams``; set each row's ``out``."""
    reqs = [row.request for row in rows]
    state, output = batch.start(
        [r.features for r in reqs],
        [r.prompt + r.window.tokens for r in reqs],
        [r.prompt.index(r.tokenizer.sot) for r in reqs],
    )
    assert output.extra_logits is not None
    searches = [_Search(row, key) for row in rows]
    for search, logits in zip(searches, output.extra_logits, strict=True):
        no_speech = search.row.request.tokenizer.no_speech
        search.row.out.no_speech_prob = float(logits.softmax(-1)[no_speech])
    # the batch's rows: (search, its hypothesis); one row per search after the prefill
    live: list[list[_Hypothesis]] = [[_Hypothesis()] for _ in searches]
    first = list(range(len(searches)))  # the batch row of each search's first hypothesis
    logits, alignment = output.logits, output.alignment
    while True:
        rows_kept: list[int] = []
        tokens: list[int] = []
        for i, search in enumerate(searches):
            n = len(live[i])
            if not n:
                continue
            start = first[i]
            following = search.expand(
                live[i], logits[start : start + n], alignment[start : start + n]
            )
            rows_kept.extend(start + parent for parent, _ in following)
            tokens.extend(hyp.tokens[-1] for _, hyp in following)
            live[i] = [hyp for _, hyp in following]
        if not rows_kept:
            break
        position = 0
        for i in range(len(searches)):
            first[i] = position
            position += len(live[i])
        batch.keep(state, rows_kept)
        output = batch.step(state, torch.tensor(tokens, device=device))
        logits, alignment = output.logits, output.alignment
    for search, hyps in zip(searches, live, strict=True):
        best = search.best(hyps)
        best.no_speech_prob = search.row.out.no_speech_prob
        search.row.out = best
