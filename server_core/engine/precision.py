"""How the model computes: fp32 as trained, fp16 on a GPU, or int8 linear layers on the CPU.

``fp16`` halves every weight and activation except the layer norms, which keep fp32 weights:
openai-whisper's ``LayerNorm`` computes in fp32 and casts the result back to the input's dtype,
and its ``Linear`` and ``Conv1d`` cast their weights to the input's dtype, so a halved model runs
as whisper's own fp16 decoding does, without casting every weight on every call.

``int8`` quantises every linear layer dynamically (weights int8 per output channel, activations
quantised on the fly), which the CPU's integer dot-product instructions run several times
faster than fp32 matrix products. The convolutions, layer norms and attention stay fp32.

Which precision ``auto`` means on a device is decided without torch in
:func:`server_core.config.resolve_precision`; this module applies a concrete one.
"""

from __future__ import annotations

import torch
import whisper.model
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear
from torch.ao.quantization import quantize_dynamic
from torch.ao.quantization.qconfig import per_channel_dynamic_qconfig

PRECISIONS = ("fp32", "bf16", "fp16", "int8")
ENCODER_AUTOCAST = {"bf16": torch.bfloat16}  # precisions whose encoder runs under autocast
# precisions whose output projection (hidden state -> logits over the vocabulary) is int8: it
# reads the whole embedding matrix (tiny.en 80 MB, base 106 MB in fp32) for every token, and
# int8 reads a quarter of that; greedy choices differ only between near-equal tokens
INT8_LOGITS = ("int8", "bf16")


def int8_linear(weight: torch.Tensor, bias: torch.Tensor | None = None) -> nn.Module:
    """A dynamically quantised linear layer computing x @ weight.T (+ bias)."""
    float_layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    float_layer.weight = nn.Parameter(weight.detach().float(), requires_grad=False)
    if bias is not None:
        float_layer.bias = nn.Parameter(bias.detach().float(), requires_grad=False)
    float_layer.qconfig = per_channel_dynamic_qconfig
    return DynamicInt8Linear.from_float(float_layer)


def half_precision(model: whisper.model.Whisper) -> None:
    """fp16 weights and buffers in place, the layer norms' weights kept in fp32."""
    model.half()
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            module.float()


def apply_precision(model: whisper.model.Whisper, precision: str) -> None:
    """Convert ``model`` in place; fp32 leaves it as it is."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision in ("fp32", "bf16"):  # bf16: the weights stay fp32, the encoder autocasts
        return
    if precision == "fp16":
        half_precision(model)
        return
    if model.device.type != "cpu":
        raise ValueError("int8 precision is for the CPU; use fp16 or fp32 on a GPU")
    for module in model.modules():
        if type(module) is whisper.model.Linear:  # its forward only casts the weight's dtype
            module.__class__ = nn.Linear
    quantize_dynamic(model, {nn.Linear: per_channel_dynamic_qconfig}, inplace=True)


def dtype_name(model: whisper.model.Whisper, precision: str) -> str:
    """What the model computes in, for people: ``float16``, ``float32`` or ``int8``."""
    if precision in ("int8", "bf16"):
        return {"int8": "int8", "bf16": "bfloat16"}[precision]
    return str(model.encoder.conv1.weight.dtype).removeprefix("torch.")
