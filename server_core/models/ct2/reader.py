"""Reader of CTranslate2 ``model.bin`` files, format version 6 (all little-endian).

Layout: u32 version, string spec name, u32 revision, u32 variable count, the variables, then
u32 alias count and the aliases (name -> target). A string is a u16 length that counts the NUL,
the bytes, then the NUL. A variable is: name, u8 rank, u32 dims, u8 dtype, u32 byte count, data.

The whole file (or the concatenation of its split parts) is read into one buffer and every
variable is a zero-copy numpy view into it, so even large models parse in a fraction of a second.
Anything that does not add up (reading past the end, impossible counts, unknown dtypes, sizes
that don't match the shape, bytes left over) raises :class:`Ct2FormatError` with one line.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SUPPORTED_VERSION = 6
MAX_RANK = 8
MAX_STRING = 4096

# dtype code -> (name, numpy dtype of the raw little-endian values). bfloat16 is kept as raw u16.
DTYPES: dict[int, tuple[str, np.dtype]] = {
    0: ("float32", np.dtype("<f4")),
    1: ("int8", np.dtype("i1")),
    2: ("int16", np.dtype("<i2")),
    3: ("int32", np.dtype("<i4")),
    4: ("float16", np.dtype("<f2")),
    5: ("bfloat16", np.dtype("<u2")),
}
DTYPE_CODES: dict[str, int] = {name: code for code, (name, _) in DTYPES.items()}


class Ct2FormatError(ValueError):
    """The bytes are not a well-formed CTranslate2 model.bin (one-line message)."""


@dataclass
class Ct2Variable:
    name: str
    dtype: str  # one of the names in DTYPES
    shape: tuple[int, ...]
    data: np.ndarray  # raw values with that shape (bfloat16 as uint16), a view into the buffer


@dataclass
class Ct2Model:
    version: int
    spec: str
    revision: int
    variables: dict[str, Ct2Variable]
    aliases: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Ct2Variable | None:
        """The variable called `name`, following aliases; None when absent."""
        for _ in range(len(self.aliases) + 1):
            if name in self.variables:
                return self.variables[name]
            if name not in self.aliases:
                return None
            name = self.aliases[name]
        return None  # an alias cycle

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class _Cursor:
    """Sequential reader over a byte buffer that reports truncation explicitly."""

    def __init__(self, buf: bytes | bytearray | memoryview, source: str) -> None:
        self.buf = memoryview(buf)
        self.pos = 0
        self.source = source

    @property
    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def take(self, n: int, what: str) -> int:
        """Reserve `n` bytes for `what` and return their offset."""
        if n > self.remaining:
            raise Ct2FormatError(
                f"{self.source} is truncated: {what} needs {n} bytes at offset {self.pos}, "
                f"only {self.remaining} left (file size {len(self.buf)})"
            )
        start = self.pos
        self.pos += n
        return start

    def unpack(self, fmt: str, what: str) -> tuple:
        start = self.take(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.buf, start)

    def u8(self, what: str) -> int:
        return self.unpack("<B", what)[0]

    def u16(self, what: str) -> int:
        return self.unpack("<H", what)[0]

    def u32(self, what: str) -> int:
        return self.unpack("<I", what)[0]

    def string(self, what: str) -> str:
        length = self.u16(f"length of {what}")
        if length == 0 or length > MAX_STRING:
            raise self.corrupt(f"{what} has impossible length {length}")
        start = self.take(length, what)
        raw = bytes(self.buf[start : start + length])
        if raw[-1] != 0:
            raise self.corrupt(f"{what} is not NUL-terminated")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise self.corrupt(f"{what} is not valid UTF-8") from None

    def corrupt(self, why: str) -> Ct2FormatError:
        return Ct2FormatError(f"{self.source} is corrupt at offset {self.pos}: {why}")


def read_bytes(paths: Sequence[Path]) -> bytearray:
    """The concatenation of `paths` (a model.bin, or its split parts in order) in one buffer."""
    sizes = [p.stat().st_size for p in paths]
    buf = bytearray(sum(sizes))
    view = memoryview(buf)
    pos = 0
    for path, size in zip(paths, sizes, strict=True):
        with open(path, "rb") as f:
            got = f.readinto(view[pos : pos + size])
        if got != size:
            raise Ct2FormatError(f"{path} changed while being read ({got} of {size} bytes)")
        pos += size
    return buf


def _read_header(cur: _Cursor) -> tuple[int, str, int]:
    version = cur.u32("format version")
    if version != SUPPORTED_VERSION:
        if 1 <= version <= 32:
            raise Ct2FormatError(
                f"{cur.source} has CTranslate2 format version {version}; "
                f"only version {SUPPORTED_VERSION} is supported"
            )
        raise Ct2FormatError(
            f"{cur.source} is not a CTranslate2 model.bin (bad header: version field {version})"
        )
    spec = cur.string("spec name")
    revision = cur.u32("spec revision")
    return version, spec, revision


def _read_variable(cur: _Cursor, index: int) -> Ct2Variable:
    name = cur.string(f"name of variable #{index}")
    rank = cur.u8(f"rank of {name!r}")
    if rank > MAX_RANK:
        raise cur.corrupt(f"variable {name!r} has impossible rank {rank}")
    shape = cur.unpack(f"<{rank}I", f"shape of {name!r}") if rank else ()
    code = cur.u8(f"dtype of {name!r}")
    if code not in DTYPES:
        raise cur.corrupt(f"variable {name!r} has unknown dtype code {code}")
    dtype_name, np_dtype = DTYPES[code]
    nbytes = cur.u32(f"byte count of {name!r}")
    count = math.prod(shape)
    if nbytes != count * np_dtype.itemsize:
        raise cur.corrupt(
            f"variable {name!r} has {nbytes} bytes, but shape {list(shape)} of "
            f"{dtype_name} needs {count * np_dtype.itemsize}"
        )
    start = cur.take(nbytes, f"data of {name!r}")
    data = np.frombuffer(cur.buf, dtype=np_dtype, count=count, offset=start).reshape(shape)
    return Ct2Variable(name, dtype_name, tuple(shape), data)


def _read_count(cur: _Cursor, what: str, min_item_bytes: int) -> int:
    count = cur.u32(what)
    if count * min_item_bytes > cur.remaining:
        raise cur.corrupt(f"{what} {count} is impossible with {cur.remaining} bytes left")
    return count


def parse_model(buf: bytes | bytearray | memoryview, source: str = "model.bin") -> Ct2Model:
    """Parse a whole model.bin held in `buf`; `source` names it in error messages."""
    cur = _Cursor(buf, source)
    version, spec, revision = _read_header(cur)
    n_vars = _read_count(cur, "variable count", 9)
    variables: dict[str, Ct2Variable] = {}
    for i in range(n_vars):
        var = _read_variable(cur, i)
        if var.name in variables:
            raise cur.corrupt(f"variable {var.name!r} appears twice")
        variables[var.name] = var
    n_aliases = _read_count(cur, "alias count", 4)
    aliases: dict[str, str] = {}
    for i in range(n_aliases):
        alias = cur.string(f"alias #{i}")
        aliases[alias] = cur.string(f"target of alias {alias!r}")
    if cur.remaining:
        raise cur.corrupt(f"{cur.remaining} unexpected bytes after the alias table")
    for alias, target in aliases.items():
        if target not in variables and target not in aliases:
            raise Ct2FormatError(
                f"{source} is corrupt: alias {alias!r} points to missing {target!r}"
            )
    return Ct2Model(version, spec, revision, variables, aliases)


def read_model(paths: Sequence[Path]) -> Ct2Model:
    """Read a model.bin, or the concatenation of its split parts given in order."""
    if not paths:
        raise Ct2FormatError("no model.bin given")
    source = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} more parts)"
    return parse_model(read_bytes(paths), source)
