"""Score the texts a `latency.py --dump DIR` run wrote with the bench's current word metrics.

    .venv/bin/python bench/rescore.py DIR/after-4

Prints JSON: words said and heard offline, how many of them the stream lost (`words_missing`,
see `latency.lost_words`), and offline's words the stream lacks (`words_missing_vs_offline`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from latency import deletions, lost_words  # noqa: E402

from server_core.wer import normalize  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dump", type=Path, help="a folder of item JSONs written by latency.py --dump")
    p.add_argument("--language", default="en")
    a = p.parse_args()
    english = a.language == "en"
    heard = lost = missing_vs_offline = offline_words = 0
    items = {}
    for path in sorted(a.dump.glob("*.json")):
        d = json.loads(path.read_text())
        ref, off = normalize(d["reference"], english), normalize(d["offline"], english)
        hyp = normalize(d["stream"], english)
        h, n = lost_words(ref, off, hyp)
        heard, lost = heard + h, lost + n
        missing_vs_offline += deletions(off, hyp)
        offline_words += len(off)
        items[path.stem] = {"heard": h, "lost": n}
    print(
        json.dumps(
            {
                "dump": str(a.dump),
                "items": items,
                "words_heard": heard,
                "words_lost": lost,
                "words_missing": round(lost / max(1, heard), 4),
                "words_missing_vs_offline": round(missing_vs_offline / max(1, offline_words), 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
