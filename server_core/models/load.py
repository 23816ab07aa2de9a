"""Resolve a model spec and load it as an openai-whisper model with alignment heads set.

A spec is one of (DESIGN §4):

- an official name (``tiny.en``, ``base``, ``large-v3``, ...): taken from openai-whisper's cache
  (``~/.cache/whisper`` or `download_root`) when the checkpoint is there; otherwise from an
  installed offline pip pack that provides it (converted once); otherwise downloaded from
  OpenAI's URL (the one openai-whisper uses), with progress, into openai-whisper's cache;
- a path to a ``.pt`` openai-whisper checkpoint, loaded as is;
- a path to a CTranslate2 (faster-whisper) folder with ``model.bin`` (or split parts
  ``model.bin.part1``, ``model.bin.part2``, ...) and ``config.json``, converted once.

Converted checkpoints are cached in ``$WHISPER_DESKTOP_CACHE/converted`` (default:
``platformdirs.user_cache_dir("whisper-desktop")/converted``) as ``<label>-<key>.pt``, where the
key hashes the sources' paths, sizes and mtimes. They are ordinary openai-whisper checkpoints
(``dims`` and ``model_state_dict``) plus ``alignment_heads`` as [layer, head] pairs.

Every failure is a :class:`ModelError` whose text is one line naming what was tried.
"""

from __future__ import annotations

import logging
import os
import time

import torch
import whisper
from whisper.model import Whisper

from server_core.errors import ModelError
from server_core.models.checkpoint import model_from_checkpoint, read_checkpoint
from server_core.models.convert import load_converted
from server_core.models.download import download
from server_core.models.progress import Progress, Reporter
from server_core.models.resolve import ResolvedModel, resolve_model

log = logging.getLogger(__name__)


def load_model(
    spec: str | os.PathLike[str],
    device: str = "cpu",
    progress: Progress | None = None,
    download_root: str | None = None,
) -> Whisper:
    """Resolve `spec`, download or convert it if needed, and load it with alignment heads set."""
    report = Reporter(progress)
    target_device = _torch_device(device, str(spec))
    resolved = resolve_model(spec, download_root)
    report(f"model {resolved.name}: {resolved.description}")
    t0 = time.perf_counter()
    if resolved.kind == "official":
        model = _load_official(resolved, report)
    elif resolved.kind == "checkpoint":
        model = model_from_checkpoint(read_checkpoint(resolved.path, str(spec)), str(spec))
    else:
        model = load_converted(resolved, str(spec), report)
    try:
        model = model.to(target_device)
    except (RuntimeError, AssertionError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelError(f"model {spec!r}: cannot use device {device!r}: {first}") from None
    report(f"model {resolved.name}: loaded in {time.perf_counter() - t0:.1f} s")
    return model


def _torch_device(device: str, spec: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, ValueError) as e:
        raise ModelError(f"model {spec!r}: bad device {device!r} ({e})") from None


def _load_official(resolved: ResolvedModel, report: Reporter) -> Whisper:
    name = resolved.name
    if resolved.path.is_file():
        try:
            ckpt = read_checkpoint(resolved.path, name)
        except ModelError as e:
            log.warning("%s; downloading it again", e)
            download(resolved, report)
            ckpt = read_checkpoint(resolved.path, name)
    else:
        download(resolved, report)
        ckpt = read_checkpoint(resolved.path, name)
    model = model_from_checkpoint(ckpt, name)
    try:
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[name])
    except (RuntimeError, ValueError) as e:
        raise ModelError(f"model {name!r}: {resolved.path} does not match {name}: {e}") from None
    return model
