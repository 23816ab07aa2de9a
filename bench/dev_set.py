"""The benchmark's speech: the dev clips as items of about a minute each, with references.

English (``en``, 12.5 min): ljs_lj001_a and ljs_lj001_b cut at sentence boundaries into items
of at most ``max_item`` seconds (references from their ``.segments.tsv``), the short English
clips joined with 1 s gaps, and ami_mix60. German (``de``, 1.7 min): the German clips joined.
Clips come from ``$WHISPER_DESKTOP_SPEECH_DIR`` (default ``../shared/speech``).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from server_core.audio.files import read_wav
from server_core.config import SAMPLE_RATE

ROOT = Path(__file__).resolve().parent.parent
LONG = ("ljs_lj001_a", "ljs_lj001_b")
SHORT_EN = (
    "jfk_inaugural",
    "ls_1089_134686_0000",
    "ls_1089_134686_0001",
    "ls_1089_134691_0000",
    "ls_1089_134691_0001",
    "ls_2412_153948_0000",
    "fleurs_en_000",
    "fleurs_en_001",
    "fleurs_en_002",
    "fleurs_en_003",
    "fleurs_en_004",
    "fleurs_en_005",
)
MEETING = ("ami_mix60",)
SHORT_DE = (
    "de_thorsten_01",
    "de_thorsten_02",
    "de_thorsten_03",
    "de_thorsten_04",
    "de_thorsten_05",
    "de_thorsten_06",
    "fleurs_de_000",
    "fleurs_de_001",
    "fleurs_de_002",
    "fleurs_de_003",
    "fleurs_de_004",
    "fleurs_de_005",
)
GAP_SECONDS = 1.0


@dataclass
class Item:
    name: str
    audio: np.ndarray
    reference: str

    @property
    def seconds(self) -> float:
        return self.audio.shape[0] / SAMPLE_RATE


def speech_dir() -> Path:
    env = os.environ.get("WHISPER_DESKTOP_SPEECH_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "speech"


def _segments(stem: str) -> list[tuple[float, float, str]]:
    with open(speech_dir() / f"{stem}.segments.tsv", encoding="utf-8") as f:
        return [
            (float(r["start_s"]), float(r["end_s"]), r["text"])
            for r in csv.DictReader(f, delimiter="\t")
        ]


def _cut_long(stem: str, max_item: float) -> list[Item]:
    audio = read_wav(speech_dir() / f"{stem}.wav")
    items: list[Item] = []
    group: list[tuple[float, float, str]] = []
    for seg in _segments(stem) + [(float("inf"), float("inf"), "")]:
        if group and (seg[1] - group[0][0] > max_item or seg[0] == float("inf")):
            start, end = group[0][0], group[-1][1]
            # cut halfway into the pauses around the group, so no word is clipped
            lo = max(0.0, start - 0.15)
            hi = min(audio.shape[0] / SAMPLE_RATE, end + 0.15)
            piece = audio[int(lo * SAMPLE_RATE) : int(hi * SAMPLE_RATE)]
            text = " ".join(t for _, _, t in group)
            items.append(Item(f"{stem}@{start:.0f}", piece, text))
            group = []
        if seg[0] != float("inf"):
            group.append(seg)
    return items


def _joined(name: str, stems: tuple[str, ...], max_item: float) -> list[Item]:
    items: list[Item] = []
    pieces: list[np.ndarray] = []
    texts: list[str] = []
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    for stem in stems:
        clip = read_wav(speech_dir() / f"{stem}.wav")
        length = sum(p.shape[0] for p in pieces) / SAMPLE_RATE
        if pieces and length + clip.shape[0] / SAMPLE_RATE > max_item:
            items.append(Item(f"{name}{len(items)}", np.concatenate(pieces), " ".join(texts)))
            pieces, texts = [], []
        pieces += [clip, gap]
        texts.append((speech_dir() / f"{stem}.txt").read_text(encoding="utf-8").strip())
    if pieces:
        items.append(Item(f"{name}{len(items)}", np.concatenate(pieces), " ".join(texts)))
    return items


def _whole(stem: str) -> Item:
    return Item(
        stem,
        read_wav(speech_dir() / f"{stem}.wav"),
        (speech_dir() / f"{stem}.txt").read_text(encoding="utf-8").strip(),
    )


SETS = ("en", "de", "en-small")


def load_items(name: str = "en", max_item: float = 60.0) -> list[Item]:
    """``en``: 12.5 min of English; ``de``: the German clips; ``en-small``: ljs_lj001_b and
    ami_mix60 only (4.4 min, small enough to carry to a lent GPU)."""
    if name not in SETS:
        raise SystemExit(f"unknown set {name!r}; use one of {', '.join(SETS)}")
    if not (speech_dir() / "ami_mix60.wav").is_file():
        raise SystemExit(f"no dev speech in {speech_dir()} (set WHISPER_DESKTOP_SPEECH_DIR)")
    if name == "de":
        return _joined("de_short", SHORT_DE, max_item)
    if name == "en-small":
        return _cut_long("ljs_lj001_b", max_item) + [_whole(stem) for stem in MEETING]
    items: list[Item] = []
    for stem in LONG:
        items += _cut_long(stem, max_item)
    items += _joined("en_short", SHORT_EN, max_item)
    items += [_whole(stem) for stem in MEETING]
    return items


def share(items: list[Item], clients: int) -> list[list[Item]]:
    """Deal the items to ``clients`` queues of about equal audio length (longest first)."""
    queues: list[list[Item]] = [[] for _ in range(clients)]
    loads = [0.0] * clients
    for item in sorted(items, key=lambda i: -i.seconds):
        k = loads.index(min(loads))
        queues[k].append(item)
        loads[k] += item.seconds
    return queues
