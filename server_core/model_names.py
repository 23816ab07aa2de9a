"""The one list of official Whisper model names (openai-whisper's own), and spec spelling.
No torch."""

from __future__ import annotations

from pathlib import Path

from server_core.whisper_tables import model_urls

ENGLISH_ONLY_SUFFIX = ".en"


def official_names() -> tuple[str, ...]:
    return tuple(model_urls())


def is_english_only(name: str) -> bool:
    return name.endswith(ENGLISH_ONLY_SUFFIX)


def normalize_model_spec(spec: str) -> str:
    """A model spec as the reference system writes it, in our terms.

    ``turbo.pt`` (or ``/any/dir/turbo.pt``) that is not an existing file means the official
    model ``turbo``; everything else is passed on unchanged for ``models.resolve_model``.
    """
    spec = spec.strip()
    if not spec:
        raise ValueError("empty model spec")
    path = Path(spec).expanduser()
    if path.exists():
        return str(path)
    if path.suffix == ".pt" and path.stem in official_names():
        return path.stem
    return spec
