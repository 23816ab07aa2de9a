"""How this folder was made from the full dev set (../../../../shared/speech or
$WHISPER_DESKTOP_SPEECH_DIR): every clip as lossless FLAC, the 6-minute ljs_lj001_a cut after the
sentences the tests use, its transcript and segment table cut to match.

    python tests/data/speech/make_test_set.py /path/to/full/speech
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
# the sentences kept of a long clip: the loop test needs 35 s of ljs_lj001_a, the flood test
# repeats it. ljs_lj001_b stays whole: the two-session test's WER bound is set for its 527 words.
KEEP_SENTENCES = {"ljs_lj001_a": 5}
TEXT_SUFFIXES = (".txt", ".spk.txt", ".rttm", ".segments.tsv")


def cut_long(src: Path, stem: str, keep: int) -> None:
    with open(src / f"{stem}.segments.tsv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    kept, following = rows[:keep], rows[keep]
    audio, rate = sf.read(src / f"{stem}.wav", dtype="int16")
    # up to where the next sentence starts: the same 0.35 s pause every joint has
    sf.write(HERE / f"{stem}.flac", audio[: int(float(following["start_s"]) * rate)], rate)
    with open(HERE / f"{stem}.segments.tsv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    (HERE / f"{stem}.txt").write_text(" ".join(r["text"] for r in kept) + "\n", encoding="utf-8")


def main(src: Path) -> None:
    for wav in sorted(src.glob("*.wav")):
        stem = wav.stem
        if stem in KEEP_SENTENCES:
            cut_long(src, stem, KEEP_SENTENCES[stem])
            continue
        audio, rate = sf.read(wav, dtype="int16")
        sf.write(HERE / f"{stem}.flac", audio, rate)
        for suffix in TEXT_SUFFIXES:
            if (src / f"{stem}{suffix}").is_file():
                shutil.copyfile(src / f"{stem}{suffix}", HERE / f"{stem}{suffix}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
