"""Pack a model as int8 rows + fp16 rest, small enough to travel to a lent GPU machine.

python bench/gpu/pack_int8.py tiny.en .gpu/tiny_en_int8.pt      # here
python bench/gpu/pack_int8.py --unpack .gpu/tiny_en_int8.pt /tmp/tiny_en.pt   # there
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

import torch


def pack(spec: str, out: str) -> None:
    from server_core.models import load_model

    model = load_model(spec)
    heads = torch.nonzero(model.alignment_heads.to_dense()).tolist()
    q, f = {}, {}
    for name, t in model.state_dict().items():
        if t.ndim == 2 and t.numel() > 4096:
            scale = t.abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / 127.0
            q[name] = ((t / scale).round().to(torch.int8), scale.half())
        else:
            f[name] = t.half()
    torch.save({"dims": asdict(model.dims), "q": q, "f": f, "heads": heads}, out)


def unpack(src: str, out: str) -> None:
    data = torch.load(src, map_location="cpu")
    state = {n: t.float() for n, t in data["f"].items()}
    for n, (v, s) in data["q"].items():
        state[n] = v.float() * s.float()
    torch.save(
        {"dims": data["dims"], "model_state_dict": state, "alignment_heads": data["heads"]}, out
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--unpack", action="store_true")
    p.add_argument("src")
    p.add_argument("out")
    a = p.parse_args()
    (unpack if a.unpack else pack)(a.src, a.out)
    sys.exit(0)
