"""AlignAtt simultaneous decoding on the openai-whisper model, for a batch of sessions.

A token is committed only while the decoder's cross-attention (the model's alignment heads)
looks at audio at least ``frame_threshold`` encoder frames before the end of the audio received
so far; a token that looks at the unfinished end waits for more audio. At the end of an
utterance every remaining token is committed.

Nothing model-side outlives a step: the kv-cache is built per call, so any number of sessions
can share one model and a "context switch" costs nothing. Every session of a step decodes in
one batch (:mod:`server_core.engine.decoder`), each row with its own stopping rule; a row
decodes exactly as it would alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from whisper.model import Whisper
from whisper.tokenizer import Tokenizer, get_tokenizer

from server_core.config import SAMPLE_RATE, DecodeOptions
from server_core.engine.beam import beam_search
from server_core.engine.decoder import BatchDecoder
from server_core.engine.precision import INT8_LOGITS
from server_core.engine.stopping import (
    LOOP_CONTEXT,
    Row,
    StepRequest,
    find_loop,
    token_frame,
    word_key,
)
from server_core.engine.window import SAMPLES_PER_FRAME

log = logging.getLogger(__name__)

MAX_TOKENS_PER_SECOND = 12  # far above fast speech; more means the decoder is looping


@dataclass
class StepResult:
    tokens: list[int]
    frames: list[int]
    no_speech_prob: float
    avg_logprob: float
    stop_reason: str  # "eot" | "boundary" | "agreement" | "repetition" | "length" | "silence"
    hypothesis: list[int] = field(default_factory=list)  # the uncommitted rest of this step
    looped: bool = False  # a repetition loop was cut: the prompt that fed it must go


def _continues_word(tokenizer: Tokenizer, token: int) -> bool:
    piece = tokenizer.decode([token])
    return bool(piece) and (piece[0].isalnum() or piece[0] in "'’")


def _word_start(tokenizer: Tokenizer, tokens: list[int]) -> int:
    """Index where the last word of ``tokens`` begins (the token holding its leading space)."""
    for i in range(len(tokens) - 1, -1, -1):
        piece = tokenizer.decode([tokens[i]])
        if not piece or piece[0].isspace():
            return i
        if not _continues_word(tokenizer, tokens[i]):
            return i + 1
    return 0


def _has_alnum(tokenizer: Tokenizer, token: int) -> bool:
    return any(c.isalnum() for c in tokenizer.decode([token]))


def held_back(
    tokenizer: Tokenizer,
    tokens: list[int],
    frames: list[int],
    b: int,
    limit_frame: int,
    numbers: bool,
    hold_frames: int,
) -> int:
    """Where to commit up to instead of ``b``: before the last word of ``tokens[:b]`` when it
    can still grow with more audio, else ``b``.

    A number grows as it is spoken ("two hundred" is "200" until "eighty-nine" makes it
    "289"), and a word read just before the boundary may be only its first part ("limit" of
    "limits"); once committed, the next step can only add a word after it. Punctuation
    after the word does not end it.
    """
    end = b
    while end > 0 and not _has_alnum(tokenizer, tokens[end - 1]):
        piece = tokenizer.decode([tokens[end - 1]])
        if piece[:1].isspace():
            break
        end -= 1
    start = _word_start(tokenizer, tokens[:end])
    if start >= end:
        return b
    if numbers and any(c.isdigit() for c in tokenizer.decode(tokens[start:end])):
        return start
    if hold_frames and frames[end - 1] >= limit_frame - hold_frames:
        return start
    return b


@lru_cache(maxsize=256)
def _tokenizer(multilingual: bool, num_languages: int, language: str | None, task: str):
    return get_tokenizer(multilingual, num_languages=num_languages, language=language, task=task)


class AlignAttDecoder:
    """One shared model; all per-stream state lives in the caller's WindowState and context."""

    def __init__(self, model: Whisper, options: DecodeOptions, precision: str = "fp32"):
        self.model = model
        self.options = options
        self.precision = precision
        heads = (
            model.alignment_heads.to_dense()
            if model.alignment_heads.is_sparse
            else (model.alignment_heads)
        )
        pairs = torch.nonzero(heads.cpu()).tolist()
        if not pairs:
            raise ValueError("the model has no alignment heads")
        self.alignment_heads: list[tuple[int, int]] = [(int(a), int(b)) for a, b in pairs]
        self.dtype = next(model.parameters()).dtype
        self.device = model.device
        self.batch = BatchDecoder(model, self.alignment_heads, int8_logits=precision in INT8_LOGITS)
        self._masks: dict[int, torch.Tensor] = {}
        self._keys: dict[int, str] = {}  # token -> word_key of its text (one vocabulary)
        self._key_tokenizer = self.tokenizer("en")

    # ---- tokenizer and prompt -------------------------------------------------------------
    @property
    def multilingual(self) -> bool:
        return self.model.is_multilingual

    def tokenizer(self, language: str | None, task: str | None = None) -> Tokenizer:
        lang = language if self.multilingual else None
        task = task or self.options.task
        return _tokenizer(self.multilingual, self.model.num_languages, lang, task)

    def encode_text(self, text: str) -> list[int]:
        if not text.strip():
            return []
        return self.tokenizer("en").encode(" " + text.strip())

    def prompt(self, tokenizer: Tokenizer, context: list[int], static: list[int]) -> list[int]:
        budget = max(0, self.options.max_context_tokens - len(static))
        trimmed = context[-budget:] if budget else []
        previous = static + trimmed
        head = [tokenizer.sot_prev, *previous] if previous else []
        return head + list(tokenizer.sot_sequence_including_notimestamps)

    @torch.inference_mode()
    def detect_language(self, features: torch.Tensor) -> str:
        if not self.multilingual:
            return "en"
        tokenizer = self.tokenizer(None)
        tokens = torch.tensor([[tokenizer.sot]], device=self.device)
        logits = self.model.logits(tokens, features[None])[0, -1]
        mask = torch.ones_like(logits, dtype=torch.bool)
        mask[list(tokenizer.all_language_tokens)] = False
        logits = logits.masked_fill(mask, -np.inf)
        best = int(logits.argmax())
        return tokenizer.decode([best]).strip("<|>")

    def word_key(self, token: int) -> str:
        key = self._keys.get(token)
        if key is None:
            if token >= self._key_tokenizer.eot:
                key = f"<{token}>"  # a special token is a word of its own
            else:
                key = word_key(self._key_tokenizer.decode([token]))
            self._keys[token] = key
        return key

    # ---- one AlignAtt step ---------------------------------------------------------------
    def _suppressed(self, tokenizer: Tokenizer) -> torch.Tensor:
        """Tokens never emitted (timestamps, special and non-speech tokens); one per vocabulary."""
        key = tokenizer.eot
        mask = self._masks.get(key)
        if mask is None:
            vocab = self.model.dims.n_vocab
            mask = torch.zeros(vocab, dtype=torch.bool)
            mask[tokenizer.eot + 1 :] = True
            mask[list(t for t in tokenizer.non_speech_tokens if t < vocab)] = True
            mask = self._masks[key] = mask.to(self.device)
        return mask

    def _row(self, r: StepRequest) -> Row:
        n_frames = max(1, min(r.n_samples // SAMPLES_PER_FRAME, self.model.dims.n_audio_ctx))
        limit_frame = n_frames - self.options.frame_threshold
        max_total = int(r.n_samples / SAMPLE_RATE * MAX_TOKENS_PER_SECOND) + 8
        max_total = min(max_total, self.model.dims.n_text_ctx - len(r.prompt) - 1)
        # full agreement compares every uncommitted token with the next step, so it decodes
        # past the boundary; agreement on the last few tokens needs nothing beyond it
        opts = self.options
        look_past = not r.final and opts.agreement and not opts.agreement_tail and not r.full
        stop_frame = None if r.final or look_past else limit_frame
        # loops often span windows (Whisper repeating its prompt): look for them there too
        sot = r.tokenizer.sot
        context = r.prompt[1 : r.prompt.index(sot)] if r.prompt[0] != sot else []
        context = (r.loop_context + context)[-LOOP_CONTEXT:]
        suppressed = self._suppressed(r.tokenizer)
        return Row(r, n_frames, stop_frame, max_total, suppressed, context)

    @torch.inference_mode()
    def steps(self, requests: list[StepRequest]) -> list[StepResult]:
        """Decode every request from its committed tokens (greedily in one batch, or with a
        beam search: :mod:`server_core.engine.beam`); return the newly committed tokens of each.

        Not final: tokens are committed up to the first one whose attention reaches the last
        ``frame_threshold`` frames (AlignAtt), less an unfinished word at that boundary, and
        with ``agreement`` only as far as the previous step's hypothesis agrees (for every
        token, or for the last ``agreement_tail`` before the boundary). A ``full`` window
        cannot grow, so a second look would see the same audio: no agreement there.
        """
        rows = [self._row(r) for r in requests]
        greedy = [row for row in rows if row.request.beams <= 1]
        if greedy:
            self._greedy(greedy)
        beams = [row for row in rows if row.request.beams > 1]
        if beams:  # a batch of their own: the greedy rows decode as if they were not there
            beam_search(self.batch, beams, self.device, self.word_key)
        return [self._result(row) for row in rows]

    def _greedy(self, rows: list[Row]) -> None:
        """Greedy decoding of every row after its committed tokens, with the alignment-head
        frame of each token. A row stops at end of text, a repetition loop, its length cap,
        a word read from past the end of its audio, or (``stop_frame``) at the first token
        whose attention reaches that frame."""
        reqs = [row.request for row in rows]
        state, output = self.batch.start(
            [r.features for r in reqs],
            [r.prompt + r.window.tokens for r in reqs],
            [r.prompt.index(r.tokenizer.sot) for r in reqs],
        )
        assert output.extra_logits is not None
        for row, logits in zip(rows, output.extra_logits, strict=True):
            no_speech = row.request.tokenizer.no_speech
            row.out.no_speech_prob = float(logits.softmax(-1)[no_speech])
        active = list(range(len(rows)))
        logits, alignment = output.logits, output.alignment
        while active:
            going: list[int] = []
            tokens: list[int] = []
            for j, i in enumerate(active):
                token = self._next(rows[i], logits[j], alignment[j])
                if token is not None:
                    going.append(j)
                    tokens.append(token)
            if not going:
                return
            if len(going) < len(active):
                self.batch.keep(state, going)
                active = [active[j] for j in going]
            output = self.batch.step(state, torch.tensor(tokens, device=self.device))
            logits, alignment = output.logits, output.alignment

    def _next(self, row: Row, logits: torch.Tensor, alignment: torch.Tensor) -> int | None:
        """Take one token for ``row``; the token to feed next, or None once the row stops."""
        r, out = row.request, row.out
        tokenizer, committed = r.tokenizer, r.window.tokens
        if len(committed) + len(out.tokens) >= row.max_total:
            return None  # stop_reason stays "length"
        last = logits.masked_fill(row.suppressed, -np.inf)
        if len(committed) == r.window.closed and not out.tokens:
            last[tokenizer.eot] = -np.inf
            last[tokenizer.encode(" ")] = -np.inf
        token = int(last.argmax())
        if token == tokenizer.eot:
            out.stop_reason = "eot"
            return None
        frames = out.frames or r.window.frames
        frame = token_frame(tokenizer, token, alignment, row.n_frames, frames)
        if frame is None:
            out.stop_reason = "past_end"
            return None
        if row.stop_frame is not None and frame >= row.stop_frame:
            out.stop_reason = "boundary"
            out.tokens.append(token)  # the waiting token, for the word check
            out.frames.append(frame)
            out.logprobs.append(0.0)
            return None
        out.tokens.append(token)
        out.frames.append(frame)
        out.logprobs.append(float(F.log_softmax(last, dim=-1)[token]))
        cut = find_loop(row.context + committed + out.tokens, self.word_key)
        if cut is not None:
            keep = max(0, cut - len(row.context) - len(committed))
            del out.tokens[keep:], out.frames[keep:], out.logprobs[keep:]
            out.stop_reason = "repetition"
            log.debug("repetition loop cut after %d tokens", cut)
            return None
        return token

    def _result(self, row: Row) -> StepResult:
        r, decoded = row.request, row.out
        window, tokenizer = r.window, r.tokenizer
        tokens, frames, logprobs = decoded.tokens, decoded.frames, decoded.logprobs
        stop_reason = decoded.stop_reason
        hypothesis: list[int] = []
        if not r.final:
            limit_frame = row.n_frames - self.options.frame_threshold
            b = next((i for i, f in enumerate(frames) if f >= limit_frame), len(frames))
            if b < len(frames) or decoded.stop_reason == "boundary":
                stop_reason = "boundary"
                if b < len(tokens) and _continues_word(tokenizer, tokens[b]):
                    b = _word_start(tokenizer, tokens[:b])
            opts = self.options
            if opts.hold_numbers or opts.hold_frames:  # also when the step ended in EOT
                b = held_back(
                    tokenizer, tokens, frames, b, limit_frame, opts.hold_numbers, opts.hold_frames
                )
            commit = b
            # an utterance's first words are guessed from the least audio: a wrong guess there
            # becomes a forced prefix the next step repeats ("However, however"), so they
            # always wait for a second look
            opening = self.options.agree_at_start and len(window.tokens) == window.closed
            if (self.options.agreement or opening) and not r.full:
                previous = window.hypothesis
                tail = self.options.agreement_tail if self.options.agreement else 0
                commit = max(0, b - tail) if tail else 0
                while commit < b and commit < len(previous) and previous[commit] == tokens[commit]:
                    commit += 1
                if commit < b:
                    stop_reason = "agreement"
            hypothesis = tokens[commit:]
            tokens, frames, logprobs = tokens[:commit], frames[:commit], logprobs[:commit]
        avg = float(np.mean(logprobs)) if logprobs else 0.0
        nsp = decoded.no_speech_prob
        if len(window.tokens) == window.closed and nsp > self.options.no_speech_threshold:
            if not r.final or avg < -1.0 or not tokens:
                return StepResult([], [], nsp, avg, "silence", hypothesis=hypothesis)
        looped = decoded.stop_reason == "repetition"
        return StepResult(tokens, frames, nsp, avg, stop_reason, hypothesis, looped)
