#!/usr/bin/env bash
# On the lent GPU machine, from the repository root (after bench/gpu/prepare.sh here): the
# latency bench with real-time WebSocket clients, tiny.en on CUDA, before vs after.
set -euo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=${SITE-$PWD/.gpu/site}:$PWD PYTHONUNBUFFERED=1
export WHISPER_DESKTOP_SPEECH_DIR=$PWD/.gpu/speech WHISPER_DESKTOP_CACHE=/tmp/wdc
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true) \
  | tee "$OUT/device.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0))" \
  | tee -a "$OUT/device.txt" || true
python3 bench/gpu/pack_int8.py --unpack .gpu/tiny_en_int8.pt /tmp/tiny_en.pt
common=(--model /tmp/tiny_en.pt --language en --set en-small --max-item ${MAX_ITEM:-30}
  --device ${DEVICE:-cuda} --each
  --server-arg=--max-clients=256)
# the revision before has neither --max-batch nor --threads: it runs with its own defaults
python3 bench/latency.py "${common[@]}" --clients ${FEW:-1 8} --rev before=.gpu/before \
  > "$OUT/before.json" 2> "$OUT/before.log" || tail -20 "$OUT/before.log"
cat "$OUT/before.json"
python3 bench/latency.py "${common[@]}" --server-arg=--max-batch=128 --server-arg=--threads=4 \
  --clients ${FEW:-1 8} ${CLIENTS:-32 96} --rev after=. > "$OUT/after.json" 2> "$OUT/after.log" \
  || tail -20 "$OUT/after.log"
cat "$OUT/after.json"
