"""Run `whisper-desktop --server-only` of any source tree with timers on the model's parts.

    python bench/instrumented_server.py TREE STATS.json -- --model tiny.en --port 0 ...

The timers hook what every version of the engine calls: whisper's log-mel, the encoder (from
conv1 to ln_post), the decoder (from the token embedding to its logits; several tokens =
prefill, one token = a decoding step), Silero's VADIterator, and the engine's
``_tick`` (one loop iteration: everything the engine computes). "other" is tick time not in
those parts. STATS.json is written when the server exits (SIGTERM).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

tree, stats_path = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
server_args = sys.argv[sys.argv.index("--") + 1 :]
sys.path.insert(0, str(tree))

import whisper  # noqa: E402
import whisper.audio  # noqa: E402
import whisper.model  # noqa: E402

totals: dict[str, float] = defaultdict(float)
counts: dict[str, int] = defaultdict(int)
_open: dict[tuple[int, str], float] = {}
_local = threading.local()


def _timed(name, fn):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - t0
            counts[name] += 1

    return wrapper


def _span(start_module, end_module, name_of) -> None:
    """Time from ``start_module``'s input to ``end_module``'s output (same thread)."""

    def pre(module, inputs):
        _local.span = (name_of(inputs), time.perf_counter())

    def post(module, inputs, output):
        _extend()

    start_module.register_forward_pre_hook(pre)
    end_module.register_forward_hook(post)


def _extend() -> None:
    """Count the time since the span's last mark into the span's part; move the mark."""
    span = getattr(_local, "span", None)
    if span is not None:
        name, mark = span
        now = time.perf_counter()
        totals[name] += now - mark
        _local.span = (name, now)


def _count_on_exit(fn):
    """Run ``fn``, then extend the current span over it (the logits after the last layer)."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            _extend()

    return wrapper


def _decoder_part(inputs) -> str:
    tokens = inputs[0]
    name = "decoder_prefill" if tokens.shape[-1] > 1 else "decoder_tokens"
    counts[name] += 1
    return name


_mel = whisper.audio.log_mel_spectrogram
whisper.audio.log_mel_spectrogram = whisper.log_mel_spectrogram = _timed("mel", _mel)
_init = whisper.model.Whisper.__init__


def _hooked_init(self, dims):
    _init(self, dims)
    _span(self.encoder.conv1, self.encoder.ln_post, lambda inputs: "encoder")
    _span(self.decoder.token_embedding, self.decoder.ln, _decoder_part)
    # the logits after the last layer norm: the stock forward computes them inside
    # TextDecoder.forward, the batched decoder in BatchDecoder._logits
    self.decoder.register_forward_hook(lambda module, inputs, output: _extend())


whisper.model.Whisper.__init__ = _hooked_init

import silero_vad.utils_vad  # noqa: E402

silero_vad.utils_vad.VADIterator.__call__ = _timed("vad", silero_vad.utils_vad.VADIterator.__call__)

from server_core.engine import Engine  # noqa: E402

Engine._tick = _timed("tick", Engine._tick)
try:
    from server_core.engine.decoder import BatchDecoder  # noqa: E402
except ImportError:  # a tree from before the batched decoder
    pass
else:
    BatchDecoder._logits = _count_on_exit(BatchDecoder._logits)


def main() -> int:
    from whisper_desktop.main import main as desktop_main

    t0 = time.perf_counter()
    try:
        return desktop_main(["--server-only", *server_args])
    finally:
        parts = ("mel", "encoder", "decoder_prefill", "decoder_tokens", "vad")
        stats = {name: round(totals[name], 4) for name in (*parts, "tick")}
        stats["other"] = round(max(0.0, totals["tick"] - sum(totals[p] for p in parts)), 4)
        stats["counts"] = dict(counts)
        stats["wall_s"] = round(time.perf_counter() - t0, 2)
        stats_path.write_text(json.dumps(stats))


if __name__ == "__main__":
    sys.exit(main())
