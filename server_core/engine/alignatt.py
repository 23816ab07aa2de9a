"""AlignAtt simultaneous decoding on the stock openai-whisper model.

A token is committed only while the decoder's cross-attention (the model's alignment heads)
looks at audio at least ``frame_threshold`` encoder frames before the end of the audio received
so far; a token that looks at the unfinished end waits for more audio. At the end of an
utterance every remaining token is committed.

Nothing model-side outlives a step: the kv-cache is built per call, so any number of sessions
can share one model and a "context switch" costs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
import whisper
from whisper.model import Whisper, disable_sdpa
from whisper.tokenizer import Tokenizer, get_tokenizer

from server_core.config import SAMPLE_RATE, DecodeOptions
from server_core.engine.window import SAMPLES_PER_FRAME, WindowState

log = logging.getLogger(__name__)

PAST_END_FRAMES = 0  # a word read from past the end of the audio is not in the audio
MAX_TOKENS_PER_SECOND = 12  # far above fast speech; more means the decoder is looping


@dataclass
class StepResult:
    tokens: list[int]
    frames: list[int]
    no_speech_prob: float
    avg_logprob: float
    stop_reason: str  # "eot" | "boundary" | "agreement" | "repetition" | "length" | "silence"
    hypothesis: list[int] = field(default_factory=list)  # the uncommitted rest of this step


@dataclass
class _Decoded:
    tokens: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    stop_reason: str = "length"
    no_speech_prob: float = 0.0


def find_repetition(tokens: list[int], max_ngram: int = 12) -> int | None:
    """Index from which ``tokens`` ends in a loop (the same n-gram over and over), or None.

    The first occurrence is kept; the repeats after it are what the returned index cuts off.
    """
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


def _continues_word(tokenizer: Tokenizer, token: int) -> bool:
    piece = tokenizer.decode([token])
    return bool(piece) and (piece[0].isalnum() or piece[0] in "'’")


def _is_word(tokenizer: Tokenizer, token: int) -> bool:
    return any(c.isalnum() for c in tokenizer.decode([token]))


def _word_start(tokenizer: Tokenizer, tokens: list[int]) -> int:
    """Index where the last word of ``tokens`` begins (the token holding its leading space)."""
    for i in range(len(tokens) - 1, -1, -1):
        piece = tokenizer.decode([tokens[i]])
        if not piece or piece[0].isspace():
            return i
        if not _continues_word(tokenizer, tokens[i]):
            return i + 1
    return 0


@lru_cache(maxsize=256)
def _tokenizer(multilingual: bool, num_languages: int, language: str | None, task: str):
    return get_tokenizer(multilingual, num_languages=num_languages, language=language, task=task)


class AlignAttDecoder:
    """One shared model; all per-stream state lives in the caller's WindowState and context."""

    def __init__(self, model: Whisper, options: DecodeOptions):
        self.model = model
        self.options = options
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

    # ---- tokenizer and prompt -------------------------------------------------------------
    @property
    def multilingual(self) -> bool:
        return self.model.is_multilingual

    def tokenizer(self, language: str | None) -> Tokenizer:
        lang = language if self.multilingual else None
        return _tokenizer(self.multilingual, self.model.num_languages, lang, self.options.task)

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

    # ---- audio ---------------------------------------------------------------------------
    def mel(self, audio: np.ndarray) -> torch.Tensor:
        padded = whisper.pad_or_trim(torch.from_numpy(np.ascontiguousarray(audio)))
        return whisper.log_mel_spectrogram(padded, self.model.dims.n_mels)

    @torch.inference_mode()
    def encode(self, windows: list[np.ndarray]) -> torch.Tensor:
        """Batched encoder call: one row of audio features per window."""
        mels = torch.stack([self.mel(w) for w in windows]).to(self.device, self.dtype)
        return self.model.encoder(mels)

    @torch.inference_mode()
    def detect_language(self, features: torch.Tensor) -> str:
        if not self.multilingual:
            return "en"
        tokenizer = self.tokenizer(None)
        tokens = torch.tensor([[tokenizer.sot]], device=self.device)
        logits = self.model.logits(tokens, features)[0, -1]
        mask = torch.ones_like(logits, dtype=torch.bool)
        mask[list(tokenizer.all_language_tokens)] = False
        logits = logits.masked_fill(mask, -np.inf)
        best = int(logits.argmax())
        return tokenizer.decode([best]).strip("<|>")

    # ---- one AlignAtt step ---------------------------------------------------------------
    def _suppressed(self, tokenizer: Tokenizer) -> torch.Tensor:
        vocab = self.model.dims.n_vocab
        mask = torch.zeros(vocab, dtype=torch.bool)
        mask[tokenizer.eot + 1 :] = True
        mask[list(t for t in tokenizer.non_speech_tokens if t < vocab)] = True
        return mask.to(self.device)

    def _attended_frame(self, qks: dict[int, torch.Tensor], n_frames: int) -> int:
        """Most-attended frame of the newest query, averaged over the alignment heads.

        The padding after the audio is part of the softmax: a head that looks past the end of
        what was received is the clearest sign that the token needs more audio.
        """
        rows = [qks[layer][0, head, -1, :] for layer, head in self.alignment_heads]
        weights = F.softmax(torch.stack(rows).float(), dim=-1).mean(dim=0)
        return int(weights.argmax())

    @torch.inference_mode()
    def step(
        self,
        features: torch.Tensor,
        n_samples: int,
        tokenizer: Tokenizer,
        prompt: list[int],
        window: WindowState,
        final: bool,
        full: bool = False,
    ) -> StepResult:
        """Decode greedily from the committed tokens; return the newly committed ones.

        Not final: tokens are committed up to the first one whose attention reaches the last
        ``frame_threshold`` frames (AlignAtt), less an unfinished word at that boundary, and
        with ``agreement`` only as far as the previous step's hypothesis agrees. A ``full``
        window cannot grow, so a second look would see the same audio: no agreement there.
        """
        n_frames = max(1, min(n_samples // SAMPLES_PER_FRAME, self.model.dims.n_audio_ctx))
        limit_frame = n_frames - self.options.frame_threshold
        max_total = int(n_samples / SAMPLE_RATE * MAX_TOKENS_PER_SECOND) + 8
        max_total = min(max_total, self.model.dims.n_text_ctx - len(prompt) - 1)
        agree = self.options.agreement and not full
        look_past = not final and agree
        decoded = self._greedy(
            features,
            n_frames,
            tokenizer,
            prompt,
            window.tokens,
            window.closed,
            max_total,
            stop_frame=None if final or look_past else limit_frame,
        )
        tokens, frames, logprobs = decoded.tokens, decoded.frames, decoded.logprobs
        stop_reason = decoded.stop_reason
        hypothesis: list[int] = []
        if not final:
            b = next((i for i, f in enumerate(frames) if f >= limit_frame), len(frames))
            if b < len(frames) or decoded.stop_reason == "boundary":
                stop_reason = "boundary"
                if b < len(tokens) and _continues_word(tokenizer, tokens[b]):
                    b = _word_start(tokenizer, tokens[:b])
            commit = b
            if agree:
                previous = window.hypothesis
                commit = 0
                while commit < b and commit < len(previous) and previous[commit] == tokens[commit]:
                    commit += 1
                if commit < b:
                    stop_reason = "agreement"
            hypothesis = tokens[commit:]
            tokens, frames, logprobs = tokens[:commit], frames[:commit], logprobs[:commit]
        avg = float(np.mean(logprobs)) if logprobs else 0.0
        nsp = decoded.no_speech_prob
        if len(window.tokens) == window.closed and nsp > self.options.no_speech_threshold:
            if not final or avg < -1.0 or not tokens:
                return StepResult([], [], nsp, avg, "silence", hypothesis=hypothesis)
        return StepResult(tokens, frames, nsp, avg, stop_reason, hypothesis)

    def _greedy(
        self,
        features: torch.Tensor,
        n_frames: int,
        tokenizer: Tokenizer,
        prompt: list[int],
        committed: list[int],
        closed: int,
        max_total: int,
        stop_frame: int | None,
    ) -> _Decoded:
        """Greedy decoding after ``committed``, with the alignment-head frame of each token.

        Stops at end of text, a repetition loop, the length cap, or (``stop_frame``) at the
        first token whose attention reaches that frame.
        """
        suppressed = self._suppressed(tokenizer)
        qks: dict[int, torch.Tensor] = {}
        blocks = list(self.model.decoder.blocks)
        hooks = [
            blocks[layer].cross_attn.register_forward_hook(
                lambda _m, _i, out, layer=layer: qks.__setitem__(layer, out[1])
            )
            for layer in sorted({layer for layer, _ in self.alignment_heads})
        ]
        cache, cache_hooks = self.model.install_kv_cache_hooks()
        out = _Decoded()
        try:
            with disable_sdpa():
                tokens = torch.tensor([prompt + committed], device=self.device)
                logits = self.model.decoder(tokens, features, kv_cache=cache)
                sot_index = prompt.index(tokenizer.sot)
                out.no_speech_prob = float(
                    logits[0, sot_index].float().softmax(-1)[tokenizer.no_speech]
                )
                while len(committed) + len(out.tokens) < max_total:
                    last = logits[0, -1].float().masked_fill(suppressed, -np.inf)
                    if len(committed) == closed and not out.tokens:
                        last[tokenizer.eot] = -np.inf
                        last[tokenizer.encode(" ")] = -np.inf
                    token = int(last.argmax())
                    if token == tokenizer.eot:
                        out.stop_reason = "eot"
                        break
                    frame = self._attended_frame(qks, n_frames)
                    if frame >= n_frames + PAST_END_FRAMES and _is_word(tokenizer, token):
                        # a word read from the padding after the audio: Whisper making text up
                        out.stop_reason = "past_end"
                        break
                    if stop_frame is not None and frame >= stop_frame:
                        out.stop_reason = "boundary"
                        out.tokens.append(token)  # the waiting token, for the word check
                        out.frames.append(frame)
                        out.logprobs.append(0.0)
                        break
                    out.tokens.append(token)
                    out.frames.append(frame)
                    out.logprobs.append(float(F.log_softmax(last, dim=-1)[token]))
                    cut = find_repetition(committed + out.tokens)
                    if cut is not None:
                        keep = max(0, cut - len(committed))
                        del out.tokens[keep:], out.frames[keep:], out.logprobs[keep:]
                        out.stop_reason = "repetition"
                        log.debug("repetition loop cut after %d tokens", cut)
                        break
                    step_in = torch.tensor([[token]], device=self.device)
                    logits = self.model.decoder(step_in, features, kv_cache=cache)
        finally:
            for h in hooks + cache_hooks:
                h.remove()
        return out
