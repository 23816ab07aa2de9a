"""Whisper's own offline decoding of one finished utterance, cut into small resumable units.

This is what ``whisper.transcribe`` does with a clip of at most 30 s: the log-mel of the clip
padded to a whole 30 s window, the full encoder, then ``DecodingTask``'s greedy decoding with
timestamps and the previous text as prompt, retried at higher temperatures while the text is
too repetitive or too unlikely (transcribe's thresholds). The work is a generator that yields
after every encoder block and every token, so the engine's loop can serve a live step in
between: the live decoder and this one never run at the same time, and whisper's kv-cache
hooks are on the model only for the duration of one of our forward passes.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from whisper.audio import N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim
from whisper.decoding import DecodingOptions, DecodingResult, DecodingTask, PyTorchInference
from whisper.model import Whisper
from whisper.tokenizer import Tokenizer
from whisper.utils import compression_ratio

TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # transcribe()'s fallback ladder
COMPRESSION_RATIO_THRESHOLD = 2.4
LOGPROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
PROMPT_RESET_TEMPERATURE = 0.5  # transcribe drops the previous text after a hotter decode
PROMPT_TOKENS = 223  # what DecodingTask keeps of a prompt (n_text_ctx // 2 - 1)
INPUT_STRIDE = 2  # mel frames per encoder frame (per timestamp step)
HOP_SECONDS = 0.01  # one mel frame
TIME_PRECISION = 0.02  # one timestamp step

Units = Generator[None, None, "ClipResult"]


@dataclass(frozen=True)
class ClipRequest:
    audio: np.ndarray  # float32, 16 kHz; longer than 30 s is decoded window by window
    language: str | None  # None: detected from the clip
    task: str = "transcribe"
    context: tuple[int, ...] = ()  # the previous text's tokens (trimmed to fit)
    static: tuple[int, ...] = ()  # prompt tokens always kept before the context
    beam_size: int | None = None  # None: greedy at temperature 0, as transcribe's default


@dataclass(frozen=True)
class Segment:
    """One of transcribe's segments: text between two timestamps."""

    start: float  # seconds from the clip's start
    end: float
    text: str  # as decoded, with its leading space
    tokens: tuple[int, ...]  # timestamps included: what transcribe carries into the prompt


@dataclass(frozen=True)
class ClipResult:
    segments: tuple[Segment, ...]  # empty when the clip held no speech
    temperature: float  # the hottest decode it took

    @property
    def text(self) -> str:
        return "".join(seg.text for seg in self.segments).strip()


class _UnitInference(PyTorchInference):
    """PyTorchInference whose kv-cache hooks are installed around each forward pass only,
    so the model is untouched between our units; the cache itself lives on between them."""

    def logits(self, tokens: torch.Tensor, audio_features: torch.Tensor) -> torch.Tensor:
        cache, hooks = self.model.install_kv_cache_hooks(self.kv_cache)
        try:
            if tokens.shape[-1] > self.initial_token_length:
                tokens = tokens[:, -1:]
            out = self.model.decoder(tokens, audio_features, kv_cache=cache)
        finally:
            for hook in hooks:
                hook.remove()
        self.kv_cache = cache
        return out


def _is_half(model: Whisper) -> bool:
    return model.encoder.conv1.weight.dtype == torch.float16


def _windows_mel(model: Whisper, audio: np.ndarray) -> tuple[torch.Tensor, int]:
    """transcribe's mel: the clip zero-padded by 30 s; and the clip's own frame count."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    mel = log_mel_spectrogram(audio, model.dims.n_mels, padding=N_SAMPLES)
    return mel, mel.shape[-1] - N_FRAMES


def _encode(model: Whisper, mel: torch.Tensor) -> Generator[None, None, torch.Tensor]:
    """The encoder's forward, one unit per block (whisper's AudioEncoder.forward)."""
    enc = model.encoder
    with torch.no_grad():
        x = F.gelu(enc.conv1(mel[None]))
        x = F.gelu(enc.conv2(x)).permute(0, 2, 1)
        x = (x + enc.positional_embedding).to(x.dtype)
    for block in enc.blocks:
        yield
        with torch.no_grad():
            x = block(x)
    yield
    with torch.no_grad():
        return enc.ln_post(x)


def _decode(
    model: Whisper, features: torch.Tensor, options: DecodingOptions
) -> Generator[None, None, tuple[DecodingResult, Tokenizer]]:
    """DecodingTask.run on encoded features, yielding after every token; returns the result
    and the tokenizer it used."""
    task = DecodingTask(model, options)
    task.inference = _UnitInference(model, len(task.initial_tokens))
    if options.beam_size is not None:  # the beam decoder keeps the inference it was made with
        task.decoder.inference = task.inference
    tokenizer = task.tokenizer
    task.decoder.reset()
    tokens = torch.tensor([task.initial_tokens], device=features.device)
    with torch.no_grad():
        languages, _ = task._detect_language(features, tokens)
    tokens = tokens.repeat_interleave(task.n_group, dim=0)
    sum_logprobs = torch.zeros(task.n_group, device=features.device)
    no_speech_prob = math.nan
    try:
        for i in range(task.sample_len):
            yield
            with torch.no_grad():
                logits = task.inference.logits(tokens, features)
                if i == 0 and tokenizer.no_speech is not None:
                    probs = logits[:, task.sot_index].float().softmax(dim=-1)
                    no_speech_prob = float(probs[0, tokenizer.no_speech])
                logits = logits[:, -1]
                for logit_filter in task.logit_filters:
                    logit_filter.apply(logits, tokens)
                tokens, completed = task.decoder.update(tokens, logits, sum_logprobs)
            if completed or tokens.shape[-1] > task.n_ctx:
                break
    finally:
        task.inference.cleanup_caching()
    grouped, grouped_logprobs = task.decoder.finalize(
        tokens.reshape(1, task.n_group, -1), sum_logprobs.reshape(1, task.n_group)
    )
    candidates = [t[task.sample_begin : (t == tokenizer.eot).nonzero()[0, 0]] for t in grouped[0]]
    best = task.sequence_ranker.rank([candidates], grouped_logprobs)[0]
    chosen: list[int] = candidates[best].tolist()
    text = tokenizer.decode(chosen).strip()
    logprob = float(grouped_logprobs[0][best])
    result = DecodingResult(
        audio_features=features[0],
        language=languages[0],
        tokens=chosen,
        text=text,
        avg_logprob=logprob / (len(chosen) + 1),
        no_speech_prob=no_speech_prob,
        temperature=options.temperature,
        compression_ratio=compression_ratio(text),
    )
    return result, tokenizer


def _silent(result: DecodingResult) -> bool:
    return result.no_speech_prob > NO_SPEECH_THRESHOLD and result.avg_logprob < LOGPROB_THRESHOLD


def _needs_fallback(result: DecodingResult) -> bool:
    if _silent(result):
        return False
    return (
        result.compression_ratio > COMPRESSION_RATIO_THRESHOLD
        or result.avg_logprob < LOGPROB_THRESHOLD
    )


def _skipped(result: DecodingResult) -> bool:
    """transcribe's no-speech check: the window is passed over."""
    return result.no_speech_prob > NO_SPEECH_THRESHOLD and not (
        result.avg_logprob > LOGPROB_THRESHOLD
    )


def _segments(
    tokens: list[int], first_timestamp: int, size: int, more: bool
) -> tuple[list[list[int]], int]:
    """transcribe's split of a window's tokens at consecutive timestamps, and how many mel
    frames to move on: past the window, or to the last timestamp when its last segment is
    unfinished (that rest is decoded again in the next window). Unlike transcribe, a full
    window with more audio after it (``more``) also moves only to its last timestamp when the
    text stopped early: words between that timestamp and the window's end are decoded again
    in the next window instead of being passed over."""
    stamp = [t >= first_timestamp for t in tokens]
    single_ending = stamp[-2:] == [False, True]
    cuts = [i + 1 for i in range(len(tokens) - 1) if stamp[i] and stamp[i + 1]]
    if not cuts:
        if more and stamp and stamp[-1] and tokens[-1] > first_timestamp:
            return [tokens], (tokens[-1] - first_timestamp) * INPUT_STRIDE
        return [tokens], size
    if single_ending:
        cuts.append(len(tokens))
    segments, last = [], 0
    for cut in cuts:
        segments.append(tokens[last:cut])
        last = cut
    if single_ending and not more:
        return segments, size
    advance = (tokens[last - 1] - first_timestamp) * INPUT_STRIDE
    return segments, advance if advance > 0 else size


def _segment(
    tokens: list[int], offset: float, size: int, first_timestamp: int, eot: int, decode
) -> Segment | None:
    """A window's piece of tokens as a Segment in clip seconds; None if it is empty or takes
    no time (transcribe clears those)."""
    stamps = [(t - first_timestamp) * TIME_PRECISION for t in tokens if t >= first_timestamp]
    text = decode([t for t in tokens if t < eot])
    if not text.strip() or (len(stamps) >= 2 and stamps[0] == stamps[-1]):
        return None
    if len(stamps) >= 2:
        start, end = stamps[0], stamps[-1]
    else:  # no timestamp pair: the whole window (or up to its one timestamp)
        start, end = 0.0, stamps[-1] if stamps and stamps[-1] > 0 else size * HOP_SECONDS
    return Segment(offset + start, offset + end, text, tuple(tokens))


def decode_clip(model: Whisper, request: ClipRequest) -> Units:
    """Decode one clip as transcribe would; a generator of small units returning its
    segments."""
    mel, content = _windows_mel(model, request.audio)
    context = list(request.context)
    found: list[Segment] = []
    hottest = 0.0
    seek = 0
    while seek < content:
        size = min(N_FRAMES, content - seek)
        window = pad_or_trim(mel[:, seek : seek + size], N_FRAMES).to(model.device)
        if _is_half(model):
            window = window.half()
        yield
        features = yield from _encode(model, window)
        budget = max(0, PROMPT_TOKENS - len(request.static))
        prompt = list(request.static) + (context[-budget:] if budget else [])
        result: DecodingResult | None = None
        eot = first_timestamp = 0
        decode = None
        for temperature in TEMPERATURES:
            options = DecodingOptions(
                task=request.task,
                language=request.language,
                temperature=temperature,
                prompt=prompt or None,
                beam_size=request.beam_size if temperature == 0 else None,
                fp16=_is_half(model),
            )
            result, tokenizer = yield from _decode(model, features, options)
            eot, first_timestamp, decode = (
                tokenizer.eot,
                tokenizer.timestamp_begin,
                tokenizer.decode,
            )
            if not _needs_fallback(result):
                break
        assert result is not None and decode is not None
        hottest = max(hottest, result.temperature)
        if _skipped(result):
            seek += size
            continue
        more = seek + size < content
        pieces, advance = _segments(list(result.tokens), first_timestamp, size, more)
        offset = seek * HOP_SECONDS
        seek += advance
        for piece in pieces:
            segment = _segment(piece, offset, size, first_timestamp, eot, decode)
            if segment is not None:
                found.append(segment)
                context += segment.tokens
        if result.temperature > PROMPT_RESET_TEMPERATURE:
            context = []  # as transcribe: no prompt from a decode that needed heat
    return ClipResult(segments=tuple(found), temperature=hottest)


def run_to_end(units: Units) -> ClipResult:
    """Drive a generator of units to its result (tests, model switches)."""
    while True:
        try:
            next(units)
        except StopIteration as done:
            return done.value
