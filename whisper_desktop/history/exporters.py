"""The history as TXT, SRT or WebVTT: utterances on one time line. No Qt."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from whisper_desktop.history.store import Utterance


class ExportFormat(str, Enum):
    TXT = "txt"
    SRT = "srt"
    VTT = "vtt"


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the start of the export
    end: float
    client_id: str
    text: str


def make_cues(utterances: Iterable[Utterance]) -> list[Cue]:
    """Cues on one time line: wall-clock times relative to the earliest session in the export."""
    utts = sorted(utterances, key=lambda u: (u.wall_start, u.id))
    if not utts:
        return []
    origin = min(u.session_started_at for u in utts)
    cues = []
    for u in utts:
        start = max(0.0, u.wall_start - origin)
        end = max(start + 0.01, u.wall_end - origin)
        cues.append(Cue(start, end, u.client_id, " ".join(u.text.split())))
    return cues


def format_timestamp(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _label(cue: Cue, labelled: bool) -> str:
    return f"{cue.client_id}: {cue.text}" if labelled else cue.text


def to_txt(cues: Sequence[Cue]) -> str:
    lines = [f"[{format_timestamp(c.start, '.')[:-4]}] {c.client_id}: {c.text}" for c in cues]
    return "\n".join(lines) + ("\n" if lines else "")


def to_srt(cues: Sequence[Cue]) -> str:
    labelled = len({c.client_id for c in cues}) > 1
    blocks = [
        f"{i}\n{format_timestamp(c.start, ',')} --> {format_timestamp(c.end, ',')}\n"
        f"{_label(c, labelled)}\n"
        for i, c in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for c in cues:
        text = f"<v {c.client_id}>{c.text}"
        blocks.append(
            f"{format_timestamp(c.start, '.')} --> {format_timestamp(c.end, '.')}\n{text}\n"
        )
    return "\n".join(blocks)


def export(utterances: Iterable[Utterance], fmt: ExportFormat | str) -> str:
    cues = make_cues(utterances)
    fmt = ExportFormat(fmt)
    if fmt is ExportFormat.SRT:
        return to_srt(cues)
    if fmt is ExportFormat.VTT:
        return to_vtt(cues)
    return to_txt(cues)
