"""The official models as the settings dialog offers them: whether each is installed here, its
size, and whether it is English-only (those ignore the language setting). No Qt, no torch.

Which models are installed is the caller's to say (the controller asks
``server_core.models.available_offline``, which imports openai-whisper and torch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from server_core.model_names import is_english_only, official_names

# Download sizes of openai-whisper's fp16 checkpoints, in MB (rounded).
SIZE_MB = {
    "tiny": 72,
    "base": 139,
    "small": 461,
    "medium": 1457,
    "large-v1": 2870,
    "large-v2": 2870,
    "large-v3": 2880,
    "large": 2880,
    "large-v3-turbo": 1510,
    "turbo": 1510,
}

InstalledLister = Callable[[], Mapping[str, str]]


def size_text(mb: int | None) -> str:
    if mb is None:
        return ""
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb} MB"


@dataclass(frozen=True)
class ModelChoice:
    name: str
    installed: bool
    size_mb: int | None
    english_only: bool
    source: str = ""  # where an installed model comes from

    @property
    def label(self) -> str:
        """``"base — installed, 139 MB"``, ``"small.en — English only, 461 MB download"``."""
        notes = []
        if self.english_only:
            notes.append("English only")
        size = size_text(self.size_mb)
        if self.installed:
            notes.append("installed" + (f", {size}" if size else ""))
        elif size:
            notes.append(f"{size} download")
        return f"{self.name} — {', '.join(notes)}" if notes else self.name

    @property
    def tooltip(self) -> str:
        parts = [self.source if self.installed else "Downloaded when first used"]
        if self.english_only:
            parts.append("English-only models ignore the language setting")
        return "\n".join(parts)


def model_choices(installed: Mapping[str, str]) -> list[ModelChoice]:
    """Every official model, in openai-whisper's order."""
    return [
        ModelChoice(
            name,
            name in installed,
            SIZE_MB.get(name.removesuffix(".en")),
            is_english_only(name),
            installed.get(name, ""),
        )
        for name in official_names()
    ]
