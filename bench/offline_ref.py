"""Offline Whisper on the bench's items: plain text (default options, as the issue compares)
and word end times (from a word-timestamp run), cached in bench/.cache by model and item."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from dev_set import Item

CACHE = Path(__file__).resolve().parent / ".cache"


def _key(model: str, language: str, item: Item) -> str:
    digest = hashlib.sha1(item.audio.tobytes()).hexdigest()[:12]
    safe = model.replace("/", "_")
    return f"{safe}-{language}-{item.name}-{digest}"


def offline_results(model_spec: str, language: str, items: list[Item]) -> dict[str, dict]:
    """{item name: {"text": str, "words": [[word, end_s], ...]}}; computes what is not cached."""
    CACHE.mkdir(exist_ok=True)
    out: dict[str, dict] = {}
    missing = []
    for item in items:
        path = CACHE / f"{_key(model_spec, language, item)}.json"
        if path.is_file():
            out[item.name] = json.loads(path.read_text())
        else:
            missing.append((item, path))
    if missing:
        import torch
        import whisper

        from server_core.models import load_model

        model = load_model(model_spec)
        lang = None if language == "auto" else language
        for item, path in missing:
            with torch.inference_mode():
                plain = whisper.transcribe(model, item.audio, language=lang, fp16=False)
                timed = whisper.transcribe(
                    model, item.audio, language=lang, fp16=False, word_timestamps=True
                )
            words = [
                [w["word"], float(w["end"])]
                for seg in timed["segments"]
                for w in seg.get("words", [])
            ]
            out[item.name] = {"text": plain["text"], "words": words}
            path.write_text(json.dumps(out[item.name]))
    return out


def silence_like(item: Item) -> bool:
    return bool(np.abs(item.audio).max() < 1e-4)
