"""The history as TXT, SRT or WebVTT: utterances on one time line. No Qt.

TXT has one line per utterance with its source's name; SRT and VTT are subtitles: cues of at most
two lines of 42 characters and 7 s (see :mod:`whisper_desktop.history.subtitles`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from whisper_desktop.history.store import Utterance
from whisper_desktop.history.subtitles import SubtitleRules, split_utterance
from whisper_desktop.source_names import source_label


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


def subtitle_cues(cues: Sequence[Cue], rules: SubtitleRules | None = None) -> list[Cue]:
    """Each cue cut to subtitle size; a cue's lines are joined by newlines."""
    out = []
    for c in cues:
        for part in split_utterance(c.text, c.start, c.end, rules):
            out.append(Cue(part.start, max(part.end, part.start + 0.01), c.client_id, part.text))
    return out


def vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_txt(cues: Sequence[Cue]) -> str:
    lines = [
        f"[{format_timestamp(c.start, '.')[:-4]}] {source_label(c.client_id)}: {c.text}"
        for c in cues
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def to_srt(cues: Sequence[Cue], rules: SubtitleRules | None = None) -> str:
    """SubRip: numbered cues of at most two short lines; the text only, no speaker prefix."""
    blocks = [
        f"{i}\n{format_timestamp(c.start, ',')} --> {format_timestamp(c.end, ',')}\n{c.text}\n"
        for i, c in enumerate(subtitle_cues(cues, rules), 1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue], rules: SubtitleRules | None = None) -> str:
    """WebVTT: the speaker as a voice tag (``<v You>``), text escaped."""
    blocks = ["WEBVTT\n"]
    for c in subtitle_cues(cues, rules):
        text = f"<v {vtt_escape(source_label(c.client_id))}>{vtt_escape(c.text)}"
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
