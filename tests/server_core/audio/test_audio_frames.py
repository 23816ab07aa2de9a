"""Frame decoding and validation (DESIGN §3): every bad frame gets a clear FrameError code."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

from server_core.audio.wire import (
    DEFAULT_LIMITS,
    FrameError,
    FrameFormat,
    FrameLimits,
    decode_frame,
    encode_frame,
)

NPY, F32, S16 = FrameFormat.NPY, FrameFormat.F32, FrameFormat.S16


def npy_bytes(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def code_of(data: bytes, fmt: FrameFormat, limits: FrameLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(FrameError) as info:
        decode_frame(data, fmt, limits)
    assert info.value.message  # always a sentence for people
    return info.value.code


@pytest.mark.parametrize("fmt", list(FrameFormat))
def test_round_trip(fmt: FrameFormat) -> None:
    x = (np.sin(np.arange(1600) / 7.0) * 0.5).astype(np.float32)
    y = decode_frame(encode_frame(x, fmt), fmt)
    assert y.dtype == np.float32 and y.shape == x.shape and y.flags.writeable
    tol = 1e-4 if fmt is S16 else 0.0
    np.testing.assert_allclose(y, x, atol=tol)


def test_npy_big_endian_float32_is_accepted() -> None:
    x = np.linspace(-1, 1, 160, dtype=">f4")
    y = decode_frame(npy_bytes(x), NPY)
    assert y.dtype == np.float32 and y.dtype.isnative
    np.testing.assert_array_equal(y, x.astype(np.float32))


def test_npy_that_needs_pickle() -> None:
    assert code_of(npy_bytes(np.array([1.0, "a"], dtype=object), True), NPY) == "pickle_not_allowed"


def test_raw_pickle_is_refused_without_unpickling() -> None:
    class Boom:
        def __reduce__(self):  # would run on unpickling
            return (pytest.fail, ("unpickled!",))

    assert code_of(pickle.dumps(Boom()), NPY) == "pickle_not_allowed"


@pytest.mark.parametrize("dtype", ["float64", "int16", "int32", "float16", "complex64", "uint8"])
def test_npy_other_dtypes(dtype: str) -> None:
    assert code_of(npy_bytes(np.zeros(160, dtype=dtype)), NPY) == "bad_dtype"


def test_npy_structured_dtype() -> None:
    arr = np.zeros(4, dtype=[("a", "<f4"), ("b", "<f4")])
    assert code_of(npy_bytes(arr), NPY) == "bad_dtype"


@pytest.mark.parametrize("shape", [(2, 160), (160, 1), ()])
def test_npy_not_1d(shape: tuple) -> None:
    assert code_of(npy_bytes(np.zeros(shape, dtype=np.float32)), NPY) == "bad_shape"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", [NPY, F32])
def test_non_finite(bad: float, fmt: FrameFormat) -> None:
    x = np.zeros(160, dtype=np.float32)
    x[17] = bad
    assert code_of(encode_frame(x, fmt), fmt) == "non_finite"


@pytest.mark.parametrize("fmt", list(FrameFormat))
def test_empty(fmt: FrameFormat) -> None:
    assert code_of(b"", fmt) == "empty_frame"


def test_empty_npy_array() -> None:
    assert code_of(npy_bytes(np.zeros(0, dtype=np.float32)), NPY) == "empty_frame"


@pytest.mark.parametrize("fmt", list(FrameFormat))
def test_over_ten_seconds(fmt: FrameFormat) -> None:
    ok = np.zeros(160_000, dtype=np.float32)
    assert decode_frame(encode_frame(ok, fmt), fmt).size == 160_000
    too_long = np.zeros(160_001, dtype=np.float32)
    assert code_of(encode_frame(too_long, fmt), fmt) in ("frame_too_long", "frame_too_large")


def test_npy_header_lies_about_length() -> None:
    data = npy_bytes(np.zeros(200_000, dtype=np.float32))[:1000]  # header says 12.5 s
    assert code_of(data, NPY) == "frame_too_long"
    short = npy_bytes(np.zeros(100, dtype=np.float32))[:-4]
    assert code_of(short, NPY) == "bad_npy"


def test_fifty_megabytes_is_refused_by_size_before_parsing() -> None:
    assert code_of(b"\x00" * (50 * 1024 * 1024), F32) == "frame_too_large"
    assert DEFAULT_LIMITS.max_bytes(NPY) < 1024 * 1024


def test_s16_odd_byte_count() -> None:
    assert code_of(b"\x01\x02\x03", S16) == "odd_length"


def test_f32_not_multiple_of_four() -> None:
    assert code_of(b"\x00" * 6, F32) == "odd_length"


@pytest.mark.parametrize(
    "data",
    [
        b"hello world",
        b"\x93NUMPY",
        b"\x93NUMPY\x01\x00\xff\xff" + b" " * 20,
        b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__('os')}",
        b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16,
    ],
)
def test_garbage_npy(data: bytes) -> None:
    assert code_of(data, NPY) in ("bad_npy", "pickle_not_allowed")


def test_format_parse() -> None:
    assert FrameFormat.parse(None) is NPY
    assert FrameFormat.parse("S16") is S16
    with pytest.raises(FrameError) as info:
        FrameFormat.parse("mp3")
    assert info.value.code == "bad_format"
