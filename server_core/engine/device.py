"""Which torch device the engine computes on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

A device that is not there is refused here, before any model is loaded (or downloaded), with
one line that says why.
"""

from __future__ import annotations

import torch

from server_core.config import is_cuda
from server_core.errors import ComputeDeviceError


def cuda_problem() -> str | None:
    """Why CUDA cannot be used in this process, or None when it can."""
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is built without CUDA"
    if not torch.cuda.is_available():
        version = f"torch {torch.__version__}, CUDA {torch.version.cuda}"
        return f"no usable NVIDIA GPU or driver ({version})"
    return None


def resolve_device(requested: str) -> str:
    """``auto`` becomes ``cuda`` when CUDA works, else ``cpu``; ``cuda``/``cuda:N`` must exist.

    Raises :class:`ComputeDeviceError` (one line) for a device that is not there or unknown.
    """
    name = requested.strip().lower()
    if name == "auto":
        return "cuda" if cuda_problem() is None else "cpu"
    if name == "cpu":
        return "cpu"
    if not is_cuda(name):
        raise ComputeDeviceError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N")
    problem = cuda_problem()
    if problem is not None:
        raise ComputeDeviceError(f"device {requested!r}: CUDA is not available: {problem}")
    index = name.partition(":")[2]
    if index:
        count = torch.cuda.device_count()
        if not index.isdigit() or int(index) >= count:
            raise ComputeDeviceError(f"device {requested!r}: this machine has {count} CUDA GPU(s)")
    return name
