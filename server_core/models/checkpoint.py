"""Reading openai-whisper checkpoints into a model, alignment heads included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from whisper.model import ModelDimensions, Whisper

from server_core.errors import ModelError
from server_core.models.ct2.mapping import alignment_mask, check_alignment_heads
from server_core.models.ct2.reader import Ct2FormatError


def read_checkpoint(path: Path, spec: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            ckpt = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelError(f"model {spec!r}: cannot read checkpoint {path}: {first}") from None
    if not isinstance(ckpt, dict) or "dims" not in ckpt or "model_state_dict" not in ckpt:
        raise ModelError(
            f"model {spec!r}: {path} is not an openai-whisper checkpoint "
            "(needs 'dims' and 'model_state_dict')"
        )
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], spec: str) -> Whisper:
    try:
        dims = ModelDimensions(**ckpt["dims"])
        model = Whisper(dims)
        model.load_state_dict(ckpt["model_state_dict"])
    except (TypeError, RuntimeError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelError(f"model {spec!r}: checkpoint does not fit Whisper: {first}") from None
    heads = ckpt.get("alignment_heads")
    if heads is not None:
        apply_heads(model, heads, spec)
    return model


def apply_heads(model: Whisper, heads: Any, spec: str) -> None:
    """Set the alignment heads buffer from [layer, head] pairs or a bool mask."""
    dims = model.dims
    if isinstance(heads, torch.Tensor) and heads.dtype == torch.bool:
        mask = heads.to_dense() if heads.is_sparse else heads
        if tuple(mask.shape) != (dims.n_text_layer, dims.n_text_head):
            raise ModelError(f"model {spec!r}: alignment heads mask has shape {list(mask.shape)}")
    else:
        pairs = [(int(layer), int(head)) for layer, head in heads]
        try:
            check_alignment_heads(pairs, dims, "checkpoint")
        except Ct2FormatError as e:
            raise ModelError(f"model {spec!r}: {e}") from None
        mask = alignment_mask(pairs, dims)
    model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
