"""CTranslate2 models converted once into openai-whisper checkpoints, and their cache.

Converted checkpoints live in ``$WHISPER_DESKTOP_CACHE/converted`` (default:
``platformdirs.user_cache_dir("whisper-desktop")/converted``) as ``<label>-<key>.pt``, where the
key hashes the sources' paths, sizes and mtimes. They are ordinary openai-whisper checkpoints
(``dims`` and ``model_state_dict``) plus ``alignment_heads`` as [layer, head] pairs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from whisper.model import Whisper

from server_core.errors import ModelError
from server_core.models.checkpoint import model_from_checkpoint, read_checkpoint
from server_core.models.ct2.mapping import check_alignment_heads, convert_ct2, read_alignment_heads
from server_core.models.ct2.reader import Ct2FormatError, read_model
from server_core.models.progress import Reporter
from server_core.models.resolve import ResolvedModel, converted_cache_dir

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
_convert_lock = threading.Lock()


def _cache_key(resolved: ResolvedModel) -> str:
    sources = [*resolved.parts, *([resolved.config] if resolved.config else [])]
    stats = []
    for p in sources:
        st = p.stat()
        stats.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps([CONVERTER_VERSION, stats]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cached_checkpoint_path(resolved: ResolvedModel) -> Path:
    """Where the converted checkpoint of a ct2/pack model lives (whether or not it exists)."""
    label = "".join(c if c.isalnum() or c in "._-" else "_" for c in resolved.name) or "model"
    return converted_cache_dir() / f"{label}-{_cache_key(resolved)}.pt"


def load_converted(resolved: ResolvedModel, spec: str, report: Reporter) -> Whisper:
    try:
        target = cached_checkpoint_path(resolved)
    except OSError as e:
        raise ModelError(f"model {spec!r}: cannot read {e.filename}: {e.strerror}") from None
    with _convert_lock:
        if target.is_file():
            try:
                return model_from_checkpoint(read_checkpoint(target, spec), spec)
            except ModelError as e:
                log.warning("cached conversion is unusable, converting again: %s", e)
                target.unlink(missing_ok=True)
        return _convert_and_cache(resolved, spec, target, report)


def convert_to_checkpoint(resolved: ResolvedModel, spec: str | None = None) -> dict[str, Any]:
    """Convert a ct2/pack model into an openai-whisper checkpoint dict (not cached)."""
    spec = spec or str(resolved.path)
    try:
        ct2 = read_model(resolved.parts)
        dims, state = convert_ct2(ct2)
        heads = read_alignment_heads(resolved.config)
        if heads is not None:
            check_alignment_heads(heads, dims, str(resolved.config))
    except Ct2FormatError as e:
        raise ModelError(f"model {spec!r}: {e}") from None
    except OSError as e:
        raise ModelError(f"model {spec!r}: cannot read {e.filename}: {e.strerror}") from None
    if heads is None:
        log.warning("%s: no alignment_heads in config.json; using the last half of layers", spec)
    return {
        "dims": asdict(dims),
        "model_state_dict": state,
        "alignment_heads": [list(h) for h in heads] if heads is not None else None,
        "source": resolved.description,
        "converter_version": CONVERTER_VERSION,
    }


def _convert_and_cache(
    resolved: ResolvedModel, spec: str, target: Path, report: Reporter
) -> Whisper:
    report(f"model {resolved.name}: converting CTranslate2 weights (one time)")
    t0 = time.perf_counter()
    ckpt = convert_to_checkpoint(resolved, spec)
    model = model_from_checkpoint(ckpt, spec)  # validates before anything is cached
    try:
        _save_atomic(ckpt, target)
    except OSError as e:
        log.warning("could not cache the converted model in %s: %s", target.parent, e)
    report(f"model {resolved.name}: converted in {time.perf_counter() - t0:.1f} s -> {target}")
    return model


def _save_atomic(obj: dict[str, Any], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
