"""bench/words.py: configurations by name, and the table of deltas against the baseline."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"
sys.path.insert(0, str(BENCH))  # words.py imports dev_set and offline_ref beside it
_spec = importlib.util.spec_from_file_location("bench_words", BENCH / "words.py")
words = importlib.util.module_from_spec(_spec)
sys.modules["bench_words"] = words  # its dataclasses look their module up
_spec.loader.exec_module(words)


def test_ablations_and_custom_configurations() -> None:
    fp32 = words.parse_config("fp32")
    assert (fp32.precision, fp32.decode) == ("fp32", {})
    assert words.parse_config("window25").decode == {"audio_max_len": 25.0}
    custom = words.parse_config("mine:hold_numbers=true,frame_threshold=25,precision=fp32")
    assert custom.decode == {"hold_numbers": True, "frame_threshold": 25}
    assert custom.precision == "fp32"
    with pytest.raises(SystemExit, match="no DecodeOptions field"):
        words.parse_config("x:no_such_option=1")
    with pytest.raises(SystemExit, match="unknown configuration"):
        words.parse_config("no_such_ablation")


def _run(name: str, errors: dict[str, int]) -> dict:
    items = {k: {"errors": e, "wer": e / 10, "words": 10} for k, e in errors.items()}
    total = sum(errors.values())
    return {
        "model": "tiny.en",
        "set": "en",
        "audio_s": 20.0,
        "offline": {k: {"errors": 1, "wer": 0.1} for k in errors},
        "offline_wer": 0.1,
        "configs": {
            name: {
                "items": items,
                "errors": total,
                "words": 10 * len(errors),
                "wer": total / (10 * len(errors)),
                "latency_mean_s": 1.0,
                "latency_p90_s": 1.5,
                "compute_per_audio_s": 0.2,
            }
        },
    }


def test_table_counts_items_worse_and_better(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_run("baseline", {"x": 2, "y": 1, "z": 0})))
    b.write_text(json.dumps(_run("other", {"x": 1, "y": 3, "z": 1})))
    t = words.table([str(a), str(b)], "baseline")
    row = t["configs"]["other"]
    assert row["per_item_delta_errors"] == {"x": -1, "y": 2, "z": 1}
    assert (row["items_worse"], row["items_better"], row["delta_errors"]) == (2, 1, 2)
    assert row["ratio_offline"] == round((5 / 30) / 0.1, 3)
    assert "| other | 0.1667 | 5 | +2 | 2 / 1 |" in words.markdown(t)
