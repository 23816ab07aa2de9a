"""Typed, frozen options of the engine and of the AlignAtt decoder (no torch).

Options are replaced (``dataclasses.replace``), never mutated: the engine's loop swaps in a new
config between steps, so no step ever sees half of a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

SAMPLE_RATE = 16000
FRAME_SECONDS = 0.02  # one encoder frame of Whisper
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
DTYPE_OF_PRECISION = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "int8": "int8"}
DEFAULT_MODEL = "base"  # on the CPU, and whatever the device when it is not known yet
DEFAULT_MODEL_CUDA = "turbo"  # the reference system's model, on a GPU
TASKS = ("transcribe", "translate")
LAG_POLICIES = ("skip", "keep")
MAX_BEAMS = 8


def check_beams(beams: object) -> None:
    """ValueError unless ``beams`` is a whole number from 1 (greedy) to MAX_BEAMS."""
    if isinstance(beams, bool) or not isinstance(beams, int) or not 1 <= beams <= MAX_BEAMS:
        raise ValueError(
            f"beams must be a whole number from 1 (greedy) to {MAX_BEAMS}, not {beams!r}"
        )


@dataclass(frozen=True)
class DecodeOptions:
    """Options of the AlignAtt streaming decoder (the reference system's names)."""

    language: str = "de"  # any Whisper language code, or "auto" (detected once per utterance)
    task: Literal["transcribe", "translate"] = "transcribe"
    init_prompt: str = ""  # initial context; trimmed like any context
    static_prompt: str = ""  # never trimmed (domain words)
    max_context_tokens: int = 128
    frame_threshold: int = 20  # encoder frames (20 ms each) kept clear of the audio's end
    audio_max_len: float = 12.0  # seconds of audio in one segment (at most 30)
    min_chunk: float = 1.0  # seconds of new speech that make a session ready
    beams: int = 1  # 1 = greedy; 2..MAX_BEAMS: beam search of that width (docs/beam_search.md)
    # commit only what the previous step also hypothesised (of the last N tokens before the
    # boundary; 0 = of all tokens). Off by default: it costs a step of latency (docs/performance.md)
    agreement: bool = False
    agreement_tail: int = 2
    agree_at_start: bool = True  # an utterance's first words always wait for a second look
    # a word that can still grow waits at the commit boundary for more audio: a number ("200"
    # of "two hundred eighty-nine"), and (hold_frames > 0, off: it cost words on the dev set,
    # docs/performance.md) a word read this many encoder frames or less before the boundary
    hold_numbers: bool = True
    hold_frames: int = 0
    no_speech_threshold: float = 0.6
    # the encoder sees the window plus this much silence, rounded up to a multiple of the
    # bucket (30 = always the whole 30 s, as Whisper was trained)
    encoder_pad: float = 2.0
    encoder_bucket: float = 2.0
    encoder_tail: float = 2.0  # seconds of that padding placed at the end of a 30 s window
    # an utterance that goes on longer is closed where its committed text ends and the next
    # one begins there (no text is dropped): one History line is never a wall of text. Checked
    # after each step, so an utterance may end one step's text past the cap.
    max_utterance_seconds: float = 30.0
    max_utterance_chars: int = 400

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be 'transcribe' or 'translate', not {self.task!r}")
        if not 1.0 <= self.audio_max_len <= 30.0:
            raise ValueError("audio_max_len must be between 1 and 30 seconds")
        if self.min_chunk <= 0:
            raise ValueError("min_chunk must be positive")
        if self.frame_threshold < 0:
            raise ValueError("frame_threshold must be >= 0")
        if self.hold_frames < 0:
            raise ValueError("hold_frames must be >= 0")
        if self.agreement_tail < 0:
            raise ValueError("agreement_tail must be >= 0")
        if self.max_context_tokens < 0:
            raise ValueError("max_context_tokens must be >= 0")
        if not 0 < self.encoder_pad <= 30 or not 0 < self.encoder_bucket <= 30:
            raise ValueError("encoder_pad and encoder_bucket must be in (0, 30] seconds")
        if not 0 <= self.encoder_tail <= self.encoder_pad:
            raise ValueError("encoder_tail must be between 0 and encoder_pad seconds")
        if self.max_utterance_seconds <= 0 or self.max_utterance_chars <= 0:
            raise ValueError("max_utterance_seconds and max_utterance_chars must be positive")
        check_beams(self.beams)


@dataclass(frozen=True)
class SessionOptions:
    """One session's own choices over the engine's DecodeOptions (None: the engine's)."""

    task: Optional[str] = None  # transcribe | translate (into English)
    init_prompt: Optional[str] = None
    static_prompt: Optional[str] = None
    beams: Optional[int] = None

    def validate(self) -> None:
        if self.task is not None and self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if self.beams is not None:
            check_beams(self.beams)


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    min_silence_ms: int = 500  # silence that closes an utterance
    speech_pad_ms: int = 200


@dataclass(frozen=True)
class EngineConfig:
    model: str = DEFAULT_MODEL  # official name, .pt path, or CTranslate2 folder (see models/)
    device: str = "auto"  # auto | cpu | cuda
    decode: DecodeOptions = field(default_factory=DecodeOptions)
    vad: VadOptions = field(default_factory=VadOptions)
    max_batch: int = 8  # sessions served by one runner step
    max_lag: float = 30.0  # seconds of unprocessed audio before the lag policy applies
    lag_policy: Literal["skip", "keep"] = "skip"  # skip: drop oldest audio and tell the client
    threads: Optional[int] = None  # torch threads; None = every CPU core
    # auto: fp16 on CUDA, bf16 on a CPU with bf16 instructions, else fp32; bf16: the encoder's
    # products in bfloat16 (weights and decoder fp32); int8: quantised linear layers (CPU only)
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = "auto"
    # decode each finished utterance again, whole, offline-style, on spare compute, and send
    # its final text as an "utterance" event (engine/final_pass.py). Off by default: with it on,
    # a client far ahead of real time is no longer held back (tests/server_core/net/test_flood.py)
    final_pass: bool = False

    @property
    def language(self) -> str:
        return self.decode.language

    def validate(self) -> None:
        self.decode.validate()
        if self.lag_policy not in LAG_POLICIES:
            raise ValueError(f"lag_policy must be one of {', '.join(LAG_POLICIES)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")


def is_cuda(device: str) -> bool:
    """``cuda`` or ``cuda:N``."""
    return device == "cuda" or device.startswith("cuda:")


def default_model(device: str) -> str:
    """The model used when none is named: ``turbo`` on a GPU, ``base`` on the CPU."""
    return DEFAULT_MODEL_CUDA if is_cuda(device) else DEFAULT_MODEL


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX; Linux only): there,
    the encoder's products in bf16 take half to two thirds of the fp32 time (Zen 4)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: str, cpu_bf16: Optional[bool] = None) -> str:
    """The concrete precision on a resolved ``device``: ``auto`` is fp16 on CUDA, bf16 on a
    CPU with bfloat16 instructions (``cpu_bf16``; None = ask this CPU), else fp32.

    int8 is CPU-only (ValueError on a GPU). fp16 on the CPU is allowed when asked for by name
    (it computes correctly, but slower than fp32 on most CPUs).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        if is_cuda(device):
            return "fp16"
        return "bf16" if (cpu_has_bf16() if cpu_bf16 is None else cpu_bf16) else "fp32"
    if precision == "int8" and is_cuda(device):
        raise ValueError("precision int8 is for the CPU; on a GPU use fp16 (auto) or fp32")
    return precision
