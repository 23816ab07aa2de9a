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

log = logging.getLogger(__name__)

SAMPLES_PER_FRAME = 320  # one encoder frame = 20 ms = 2 mel hops
MAX_TOKENS_PER_SECOND = 12  # far above fast speech; more means the decoder is looping


@dataclass
class WindowState:
    """What has been committed for the audio window being decoded (reset when it advances)."""

    tokens: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # attended encoder frame of each token
    language: str | None = None  # resolved language of this utterance


@dataclass
class StepResult:
    tokens: list[int]
    frames: list[int]
    no_speech_prob: float
    avg_logprob: float
    stop_reason: str  # "eot" | "boundary" | "repetition" | "length" | "silence"
    boundary_frame: int | None = None  # attended frame of the token left waiting


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
    ) -> StepResult:
        """Decode greedily from the committed tokens; return the newly committed ones."""
        n_frames = max(1, min(n_samples // SAMPLES_PER_FRAME, self.model.dims.n_audio_ctx))
        limit_frame = n_frames - self.options.frame_threshold
        max_total = int(n_samples / SAMPLE_RATE * MAX_TOKENS_PER_SECOND) + 8
        ctx_room = self.model.dims.n_text_ctx - len(prompt) - 1
        max_total = min(max_total, ctx_room)
        suppressed = self._suppressed(tokenizer)
        sot_index = prompt.index(tokenizer.sot)

        qks: dict[int, torch.Tensor] = {}
        layers = sorted({layer for layer, _ in self.alignment_heads})
        blocks = list(self.model.decoder.blocks)
        hooks = [
            blocks[layer].cross_attn.register_forward_hook(
                lambda _m, _i, out, layer=layer: qks.__setitem__(layer, out[1])
            )
            for layer in layers
        ]
        cache, cache_hooks = self.model.install_kv_cache_hooks()
        new_tokens: list[int] = []
        new_frames: list[int] = []
        logprobs: list[float] = []
        stop_reason = "length"
        no_speech_prob = 0.0
        boundary_frame: int | None = None
        try:
            with disable_sdpa():
                tokens = torch.tensor([prompt + window.tokens], device=self.device)
                logits = self.model.decoder(tokens, features, kv_cache=cache)
                no_speech_prob = float(
                    logits[0, sot_index].float().softmax(-1)[tokenizer.no_speech]
                )
                while len(window.tokens) + len(new_tokens) < max_total:
                    last = logits[0, -1].float().masked_fill(suppressed, -np.inf)
                    if not window.tokens and not new_tokens:
                        last[tokenizer.eot] = -np.inf
                        blank = tokenizer.encode(" ")
                        last[blank] = -np.inf
                    logp = F.log_softmax(last, dim=-1)
                    token = int(last.argmax())
                    if token == tokenizer.eot:
                        stop_reason = "eot"
                        break
                    frame = self._attended_frame(qks, n_frames)
                    if not final and frame >= limit_frame:
                        stop_reason = "boundary"
                        boundary_frame = frame
                        if _continues_word(tokenizer, token):
                            keep = _word_start(tokenizer, new_tokens)
                            if keep < len(new_tokens):
                                boundary_frame = new_frames[keep]
                            del new_tokens[keep:], new_frames[keep:], logprobs[keep:]
                        break
                    new_tokens.append(token)
                    new_frames.append(frame)
                    logprobs.append(float(logp[token]))
                    cut = find_repetition(window.tokens + new_tokens)
                    if cut is not None:
                        keep = max(0, cut - len(window.tokens))
                        del new_tokens[keep:], new_frames[keep:], logprobs[keep:]
                        stop_reason = "repetition"
                        log.debug("repetition loop cut after %d tokens", cut)
                        break
                    step_in = torch.tensor([[token]], device=self.device)
                    logits = self.model.decoder(step_in, features, kv_cache=cache)
        finally:
            for h in hooks + cache_hooks:
                h.remove()
        avg = float(np.mean(logprobs)) if logprobs else 0.0
        if not window.tokens and no_speech_prob > self.options.no_speech_threshold:
            if not final or avg < -1.0 or not new_tokens:
                return StepResult([], [], no_speech_prob, avg, "silence")
        return StepResult(new_tokens, new_frames, no_speech_prob, avg, stop_reason, boundary_frame)
