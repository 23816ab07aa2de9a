"""Audio frames on the wire: decode and validate what clients send; encode for clients.

Wire formats (DESIGN §3), always 16 kHz mono:

- ``npy``: a ``.npy`` file of a 1-D float32 array (the reference system's format);
- ``f32``: raw little-endian float32;
- ``s16``: raw little-endian int16.

Decoding never unpickles and never trusts a header: the ``.npy`` header is parsed and checked
before the data is looked at, and the payload length must match it exactly.
"""

from __future__ import annotations

import ast
import io
from dataclasses import dataclass
from enum import Enum

import numpy as np

from server_core.config import SAMPLE_RATE

MAX_FRAME_SECONDS = 10.0
# Samples are in [-1, 1]; a resampler's overshoot up to this is clipped, anything beyond refused
CLIP_LIMIT = 1.1
NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER_MAX = 4096  # a 1-D float32 header is ~128 bytes; anything far larger is hostile


class FrameFormat(str, Enum):
    NPY = "npy"
    F32 = "f32"
    S16 = "s16"

    @classmethod
    def parse(cls, value: str | None) -> FrameFormat:
        if value is None or value == "":
            return cls.NPY
        try:
            return cls(value.lower())
        except ValueError:
            names = ", ".join(f.value for f in cls)
            raise FrameError(
                "bad_format", f"unknown format {value!r}; use one of {names}"
            ) from None


class FrameError(ValueError):
    """A frame the server refuses; ``code`` is machine-readable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FrameLimits:
    max_seconds: float = MAX_FRAME_SECONDS
    sample_rate: int = SAMPLE_RATE

    @property
    def max_samples(self) -> int:
        return int(round(self.max_seconds * self.sample_rate))

    def max_bytes(self, fmt: FrameFormat) -> int:
        """The largest valid frame of ``fmt`` in bytes (payload plus the .npy header)."""
        width = 2 if fmt is FrameFormat.S16 else 4
        header = _NPY_HEADER_MAX if fmt is FrameFormat.NPY else 0
        return self.max_samples * width + header


DEFAULT_LIMITS = FrameLimits()


def decode_frame(data: bytes, fmt: FrameFormat, limits: FrameLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Turn one binary frame into 1-D float32 samples, or raise :class:`FrameError`."""
    if not data:
        raise FrameError("empty_frame", "empty frame: send at least one sample")
    if len(data) > limits.max_bytes(fmt):
        raise FrameError(
            "frame_too_large",
            f"frame of {len(data)} bytes is over the limit of {limits.max_bytes(fmt)} bytes "
            f"({limits.max_seconds:g} s of audio)",
        )
    if fmt is FrameFormat.NPY:
        samples = _decode_npy(data, limits)
    elif fmt is FrameFormat.F32:
        if len(data) % 4:
            raise FrameError(
                "odd_length", f"f32 frame of {len(data)} bytes is not a multiple of 4 bytes"
            )
        samples = np.frombuffer(data, dtype="<f4")
    else:
        if len(data) % 2:
            raise FrameError(
                "odd_length", f"s16 frame of {len(data)} bytes has an odd number of bytes"
            )
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return _check_samples(samples, limits)


def _decode_npy(data: bytes, limits: FrameLimits) -> np.ndarray:
    if not data.startswith(NPY_MAGIC):
        if data[:1] == b"\x80":  # pickle protocol 2+ opcode
            raise FrameError(
                "pickle_not_allowed", "pickled data is not accepted; send a .npy array"
            )
        raise FrameError("bad_npy", "not a .npy frame (missing \\x93NUMPY magic)")
    if len(data) < 10:
        raise FrameError("bad_npy", "truncated .npy header")
    major = data[6]
    if major == 1:
        header_len = int.from_bytes(data[8:10], "little")
        start = 10
    elif major in (2, 3):
        if len(data) < 12:
            raise FrameError("bad_npy", "truncated .npy header")
        header_len = int.from_bytes(data[8:12], "little")
        start = 12
    else:
        raise FrameError("bad_npy", f"unsupported .npy version {major}")
    if header_len > _NPY_HEADER_MAX or start + header_len > len(data):
        raise FrameError("bad_npy", "malformed .npy header")
    header = _parse_npy_header(data[start : start + header_len])
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(descr, str):
        raise FrameError("bad_dtype", "structured dtypes are not accepted; send float32")
    try:
        dtype = np.dtype(descr)
    except TypeError:
        raise FrameError("bad_dtype", f"unknown dtype {descr!r}; send float32") from None
    if dtype.hasobject:
        raise FrameError(
            "pickle_not_allowed", "object arrays need pickle, which is not accepted; send float32"
        )
    if dtype.kind != "f" or dtype.itemsize != 4:
        raise FrameError("bad_dtype", f"dtype {dtype.name} is not accepted; send float32")
    if not isinstance(shape, tuple) or len(shape) != 1:
        raise FrameError(
            "bad_shape", f"array of shape {shape} is not accepted; send a 1-D (mono) array"
        )
    if not isinstance(fortran, bool):
        raise FrameError("bad_npy", "malformed .npy header")
    (count,) = shape
    if not isinstance(count, int) or count < 0:
        raise FrameError("bad_npy", "malformed .npy shape")
    if count > limits.max_samples:
        raise FrameError("frame_too_long", _too_long(count, limits))
    payload = data[start + header_len :]
    if len(payload) != count * 4:
        raise FrameError(
            "bad_npy", f".npy payload has {len(payload)} bytes; its header says {count * 4}"
        )
    return np.frombuffer(payload, dtype=dtype)


def _parse_npy_header(raw: bytes) -> dict:
    try:
        header = ast.literal_eval(raw.decode("latin1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise FrameError("bad_npy", "malformed .npy header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise FrameError("bad_npy", "malformed .npy header")
    return header


def _too_long(count: int, limits: FrameLimits) -> str:
    seconds = count / limits.sample_rate
    return (
        f"frame of {count} samples ({seconds:.3f} s) is over the limit of "
        f"{limits.max_seconds:g} s; send shorter frames (100 ms is typical)"
    )


def _check_samples(samples: np.ndarray, limits: FrameLimits) -> np.ndarray:
    if samples.size == 0:
        raise FrameError("empty_frame", "empty frame: send at least one sample")
    if samples.size > limits.max_samples:
        raise FrameError("frame_too_long", _too_long(samples.size, limits))
    out = np.ascontiguousarray(samples, dtype=np.float32)
    if not np.isfinite(out).all():
        raise FrameError("non_finite", "frame holds NaN or Inf values")
    peak = float(np.abs(out).max())
    if peak > CLIP_LIMIT:
        raise FrameError("out_of_range", _out_of_range(peak))
    if out is samples or not out.flags.writeable:
        out = out.copy()  # frombuffer views are read-only and pin the message bytes
    if peak > 1.0:
        np.clip(out, -1.0, 1.0, out=out)
    return out


def _out_of_range(peak: float) -> str:
    text = f"samples reach {peak:.4g}; float samples must lie in [-1, 1]"
    if 2.0 < peak <= 32768.5:
        text += (
            " (these look like int16 values sent as floats: divide them by 32768, "
            "or connect with ?format=s16 and send the int16 bytes)"
        )
    return text


def encode_frame(samples: np.ndarray, fmt: FrameFormat) -> bytes:
    """The client side: 1-D float32 samples to one binary frame of ``fmt``."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if fmt is FrameFormat.NPY:
        buf = io.BytesIO()
        np.save(buf, x, allow_pickle=False)
        return buf.getvalue()
    if fmt is FrameFormat.F32:
        return x.astype("<f4").tobytes()
    return (np.clip(x, -1.0, 32767 / 32768) * 32768.0).round().astype("<i2").tobytes()
