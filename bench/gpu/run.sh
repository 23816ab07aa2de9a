#!/usr/bin/env bash
# The lent-GPU benchmark, run on the device machine from the repository root:
# carried wheels and an int8-packed tiny.en come in .gpu/ (see pack_int8.py); results go to $OUT.
set -euo pipefail
DEVICE=${DEVICE:-cuda}
CAP_SECONDS=${CAP_SECONDS:-30}
CAP_MAX=${CAP_MAX:-32}
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
export WHISPER_DESKTOP_SPEECH_DIR=$PWD/.gpu/speech WHISPER_DESKTOP_CACHE=/tmp/wdc
(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true) | tee "$OUT/device.txt"
python3 bench/gpu/pack_int8.py --unpack .gpu/tiny_en_int8.pt /tmp/tiny_en.pt
python3 bench/run_streams.py --model /tmp/tiny_en.pt --language en --device "$DEVICE" \
  jfk_inaugural ls_2412_153948_0000 fleurs_en_000 > "$OUT/streams.json"
cat "$OUT/streams.json"
python3 bench/capacity.py --model /tmp/tiny_en.pt --language en --device "$DEVICE" \
  --clip ljs_lj001_b --seconds "$CAP_SECONDS" --max-streams "$CAP_MAX" > "$OUT/capacity.json"
cat "$OUT/capacity.json"
