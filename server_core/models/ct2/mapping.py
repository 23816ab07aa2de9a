"""Convert a CTranslate2 (faster-whisper) Whisper model into an openai-whisper state dict.

The name mapping (DESIGN §4):

- ``encoder/conv1``, ``encoder/conv2`` -> ``encoder.conv1``, ``encoder.conv2``
- ``{encoder,decoder}/position_encodings/encodings`` -> ``*.positional_embedding``
- ``*/layer_N/self_attention/linear_0``: q, k, v stacked (the key has no bias in Whisper)
- ``*/layer_N/self_attention/linear_1`` -> ``attn.out``; ``.../layer_norm`` -> ``attn_ln``
- ``*/layer_N/ffn/{layer_norm,linear_0,linear_1}`` -> ``mlp_ln``, ``mlp.0``, ``mlp.2``
- ``decoder/layer_N/attention/linear_0`` -> cross-attention query; ``linear_1`` -> key and value
  stacked; ``linear_2`` -> ``out``; ``layer_norm`` -> ``cross_attn_ln``
- ``decoder/embeddings/weight`` -> ``token_embedding`` (``decoder/projection`` is its alias)
- ``encoder/layer_norm`` -> ``ln_post``; ``decoder/layer_norm`` -> ``ln``
- layer norms: ``gamma`` -> ``weight``, ``beta`` -> ``bias``

Dropping the key bias is exact: it adds the same constant to every logit of a query row, which
softmax ignores. Integer weights are dequantized as value / scale (per output row).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import torch
from whisper.model import ModelDimensions

from server_core.models.ct2.reader import Ct2FormatError, Ct2Model, Ct2Variable

log = logging.getLogger(__name__)

WHISPER_SPEC = "WhisperSpec"
HEAD_DIM = 64  # every Whisper model; used only when num_heads is missing

StateDict = dict[str, torch.Tensor]
Heads = list[tuple[int, int]]


class _Weights:
    """Tensors of a Ct2Model, dequantized and converted to torch, with clear errors."""

    def __init__(self, model: Ct2Model) -> None:
        self.model = model

    def var(self, name: str) -> Ct2Variable:
        var = self.model.get(name)
        if var is None:
            raise Ct2FormatError(f"model.bin has no variable {name!r}")
        return var

    def tensor(self, name: str) -> torch.Tensor:
        var = self.var(name)
        if var.dtype in ("int8", "int16", "int32"):
            return torch.from_numpy(self._dequantize(var))
        return torch.from_numpy(_float_array(var))

    def _scale_of(self, var: Ct2Variable) -> np.ndarray:
        for scale_name in (f"{var.name}_scale", var.name.rsplit("/", 1)[0] + "/weight_scale"):
            scale = self.model.get(scale_name)
            if scale is not None:
                return _float_array(scale).astype(np.float32, copy=False)
        raise Ct2FormatError(f"{var.dtype} variable {var.name!r} has no scale to dequantize it")

    def _dequantize(self, var: Ct2Variable) -> np.ndarray:
        scale = self._scale_of(var)
        rows = var.shape[0] if var.shape else 1
        if scale.size == 1:
            scale = scale.reshape(())
        elif scale.size == rows:
            scale = scale.reshape((rows,) + (1,) * (len(var.shape) - 1))
        else:
            raise Ct2FormatError(f"scale of {var.name!r} has {scale.size} values for {rows} rows")
        return var.data.astype(np.float32) / scale

    def scalar(self, name: str) -> int | None:
        var = self.model.get(name)
        if var is None:
            return None
        if var.data.size != 1:
            raise Ct2FormatError(f"variable {name!r} should be a scalar, has shape {var.shape}")
        return int(var.data.reshape(-1)[0])


def _float_array(var: Ct2Variable) -> np.ndarray:
    """A native-endian float copy of a float variable (float16 stays float16)."""
    if var.dtype == "float16":
        return var.data.astype(np.float16)
    if var.dtype == "bfloat16":
        return (var.data.astype(np.uint32) << 16).view(np.float32)
    if var.dtype == "float32":
        return var.data.astype(np.float32)
    return var.data.astype(np.float32)


def _count_layers(model: Ct2Model, side: str) -> int:
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    found = {int(m.group(1)) for name in model.variables if (m := pattern.match(name))}
    if not found:
        raise Ct2FormatError(f"model.bin has no {side} layers")
    if found != set(range(len(found))):
        missing = sorted(set(range(max(found) + 1)) - found)
        raise Ct2FormatError(f"model.bin lacks {side} layer(s) {missing}")
    return len(found)


def _num_heads(w: _Weights, side: str, n_state: int) -> int:
    heads = w.scalar(f"{side}/num_heads")
    if heads is None:
        log.warning("model.bin has no %s/num_heads; assuming %d-wide heads", side, HEAD_DIM)
        heads = n_state // HEAD_DIM
    if heads <= 0 or n_state % heads:
        raise Ct2FormatError(f"{side}/num_heads = {heads} does not divide the width {n_state}")
    return heads


def dims_from_ct2(model: Ct2Model) -> ModelDimensions:
    """Model dimensions derived from tensor shapes and the num_heads scalars."""
    w = _Weights(model)
    conv1 = w.var("encoder/conv1/weight").shape
    enc_pos = w.var("encoder/position_encodings/encodings").shape
    emb = w.var("decoder/embeddings/weight").shape
    dec_pos = w.var("decoder/position_encodings/encodings").shape
    if len(conv1) != 3 or len(enc_pos) != 2 or len(emb) != 2 or len(dec_pos) != 2:
        raise Ct2FormatError("model.bin has unexpected ranks for conv1/embeddings/positions")
    n_audio_state, n_mels, _ = conv1
    n_text_state = emb[1]
    return ModelDimensions(
        n_mels=n_mels,
        n_audio_ctx=enc_pos[0],
        n_audio_state=n_audio_state,
        n_audio_head=_num_heads(w, "encoder", n_audio_state),
        n_audio_layer=_count_layers(model, "encoder"),
        n_vocab=emb[0],
        n_text_ctx=dec_pos[0],
        n_text_state=n_text_state,
        n_text_head=_num_heads(w, "decoder", n_text_state),
        n_text_layer=_count_layers(model, "decoder"),
    )


def _split(t: torch.Tensor, parts: int, name: str) -> list[torch.Tensor]:
    if t.shape[0] % parts:
        raise Ct2FormatError(f"{name} has {t.shape[0]} rows, not a multiple of {parts}")
    return [c.contiguous() for c in t.chunk(parts, dim=0)]


def _linear(w: _Weights, src: str, dst: str, out: StateDict) -> None:
    out[f"{dst}.weight"] = w.tensor(f"{src}/weight")
    out[f"{dst}.bias"] = w.tensor(f"{src}/bias")


def _layer_norm(w: _Weights, src: str, dst: str, out: StateDict) -> None:
    out[f"{dst}.weight"] = w.tensor(f"{src}/gamma")
    out[f"{dst}.bias"] = w.tensor(f"{src}/beta")


def _self_attention(w: _Weights, src: str, dst: str, out: StateDict) -> None:
    name = f"{src}/linear_0"
    q_w, k_w, v_w = _split(w.tensor(f"{name}/weight"), 3, f"{name}/weight")
    q_b, _k_b, v_b = _split(w.tensor(f"{name}/bias"), 3, f"{name}/bias")
    out.update({f"{dst}.query.weight": q_w, f"{dst}.query.bias": q_b})
    out.update({f"{dst}.key.weight": k_w, f"{dst}.value.weight": v_w, f"{dst}.value.bias": v_b})
    _linear(w, f"{src}/linear_1", f"{dst}.out", out)


def _cross_attention(w: _Weights, src: str, dst: str, out: StateDict) -> None:
    _linear(w, f"{src}/linear_0", f"{dst}.query", out)
    name = f"{src}/linear_1"
    k_w, v_w = _split(w.tensor(f"{name}/weight"), 2, f"{name}/weight")
    _k_b, v_b = _split(w.tensor(f"{name}/bias"), 2, f"{name}/bias")
    out.update({f"{dst}.key.weight": k_w, f"{dst}.value.weight": v_w, f"{dst}.value.bias": v_b})
    _linear(w, f"{src}/linear_2", f"{dst}.out", out)


def _block(w: _Weights, src: str, dst: str, out: StateDict, cross: bool) -> None:
    _self_attention(w, f"{src}/self_attention", f"{dst}.attn", out)
    _layer_norm(w, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", out)
    if cross:
        _cross_attention(w, f"{src}/attention", f"{dst}.cross_attn", out)
        _layer_norm(w, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln", out)
    _linear(w, f"{src}/ffn/linear_0", f"{dst}.mlp.0", out)
    _linear(w, f"{src}/ffn/linear_1", f"{dst}.mlp.2", out)
    _layer_norm(w, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln", out)


def convert_ct2(model: Ct2Model) -> tuple[ModelDimensions, StateDict]:
    """openai-whisper dimensions and state dict of a parsed CTranslate2 Whisper model."""
    if model.spec != WHISPER_SPEC:
        raise Ct2FormatError(f"model.bin holds a {model.spec!r}, not a {WHISPER_SPEC!r}")
    dims = dims_from_ct2(model)
    w = _Weights(model)
    sd: StateDict = {}
    _linear(w, "encoder/conv1", "encoder.conv1", sd)
    _linear(w, "encoder/conv2", "encoder.conv2", sd)
    sd["encoder.positional_embedding"] = w.tensor("encoder/position_encodings/encodings")
    for i in range(dims.n_audio_layer):
        _block(w, f"encoder/layer_{i}", f"encoder.blocks.{i}", sd, cross=False)
    _layer_norm(w, "encoder/layer_norm", "encoder.ln_post", sd)
    sd["decoder.token_embedding.weight"] = w.tensor("decoder/embeddings/weight")
    sd["decoder.positional_embedding"] = w.tensor("decoder/position_encodings/encodings")
    for i in range(dims.n_text_layer):
        _block(w, f"decoder/layer_{i}", f"decoder.blocks.{i}", sd, cross=True)
    _layer_norm(w, "decoder/layer_norm", "decoder.ln", sd)
    return dims, sd


def read_alignment_heads(config: Path | None) -> Heads | None:
    """`alignment_heads` of a CTranslate2 config.json as (layer, head) pairs; None if absent."""
    if config is None or not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise Ct2FormatError(f"{config} is not valid JSON ({e.msg} at line {e.lineno})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise Ct2FormatError(f"cannot read {config}: {e}") from None
    if not isinstance(data, dict):
        raise Ct2FormatError(f"{config} is not a JSON object")
    heads = data.get("alignment_heads")
    if heads is None:
        return None
    if not isinstance(heads, list) or not all(_is_pair(h) for h in heads):
        raise Ct2FormatError(f"{config}: alignment_heads is not a list of [layer, head] pairs")
    return [(int(h[0]), int(h[1])) for h in heads]


def _is_pair(h: object) -> bool:
    return (
        isinstance(h, list)
        and len(h) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in h)
    )


def check_alignment_heads(heads: Heads, dims: ModelDimensions, source: str) -> None:
    for layer, head in heads:
        if layer >= dims.n_text_layer or head >= dims.n_text_head:
            raise Ct2FormatError(
                f"{source}: alignment head [{layer}, {head}] is out of range for "
                f"{dims.n_text_layer} decoder layers x {dims.n_text_head} heads"
            )


def alignment_mask(heads: Heads, dims: ModelDimensions) -> torch.Tensor:
    """Dense bool mask (n_text_layer, n_text_head) with True at the given heads."""
    mask = torch.zeros(dims.n_text_layer, dims.n_text_head, dtype=torch.bool)
    for layer, head in heads:
        mask[layer, head] = True
    return mask
