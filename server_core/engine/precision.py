"""How the model computes: fp32 as trained, or int8 linear layers on the CPU.

``int8`` quantises every linear layer dynamically (weights int8 per output channel, activations
quantised on the fly), which the CPU's integer dot-product instructions run several times
faster than fp32 matrix products. The convolutions, layer norms and attention stay fp32.
"""

from __future__ import annotations

import torch
import whisper.model
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear
from torch.ao.quantization import quantize_dynamic
from torch.ao.quantization.qconfig import per_channel_dynamic_qconfig

PRECISIONS = ("fp32", "int8")


def int8_linear(weight: torch.Tensor, bias: torch.Tensor | None = None) -> nn.Module:
    """A dynamically quantised linear layer computing x @ weight.T (+ bias)."""
    float_layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    float_layer.weight = nn.Parameter(weight.detach().float(), requires_grad=False)
    if bias is not None:
        float_layer.bias = nn.Parameter(bias.detach().float(), requires_grad=False)
    float_layer.qconfig = per_channel_dynamic_qconfig
    return DynamicInt8Linear.from_float(float_layer)


def apply_precision(model: whisper.model.Whisper, precision: str) -> None:
    """Convert ``model`` in place; fp32 leaves it as it is."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "fp32":
        return
    if model.device.type != "cpu":
        raise ValueError("int8 precision is for the CPU; use fp32 on a GPU")
    for module in model.modules():
        if type(module) is whisper.model.Linear:  # its forward only casts the weight's dtype
            module.__class__ = nn.Linear
    quantize_dynamic(model, {nn.Linear: per_channel_dynamic_qconfig}, inplace=True)
