#!/usr/bin/env bash
# Here, before a lent-GPU run: fills .gpu/ (ignored by git, carried to the device machine)
# with the server's Python packages for that machine's Python 3.12, tiny.en packed as int8
# rows, a small English speech set, and the tree of the revision to compare against.
#   bash bench/gpu/prepare.sh [BEFORE_REV]
set -euo pipefail
cd "$(dirname "$0")/../.."
before=${1:-b66ea51}
py=.venv/bin/python
mkdir -p .gpu/whl
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
plat="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
$py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  $plat -d .gpu/whl fastapi starlette pydantic pydantic-core annotated-types typing-inspection \
  annotated-doc opentelemetry-api uvicorn websockets silero-vad more-itertools platformdirs \
  typing-extensions
$py -m pip wheel -q --no-deps -w .gpu/whl openai-whisper
rm -rf .gpu/site
$py -m pip install -q --no-deps --no-compile --target .gpu/site --python-version 3.12 \
  --implementation cp --only-binary=:all: $plat .gpu/whl/*.whl
# only what the server loads: the TorchScript VAD, the English tokenizer
rm -rf .gpu/site/bin .gpu/site/silero_vad/data/*.onnx .gpu/site/silero_vad/data/*.safetensors
rm -f .gpu/site/whisper/assets/multilingual.tiktoken
rm -rf .gpu/whl
[ -f .gpu/tiny_en_int8.pt ] || $py bench/gpu/pack_int8.py tiny.en .gpu/tiny_en_int8.pt
speech=${WHISPER_DESKTOP_SPEECH_DIR:-../shared/speech}
mkdir -p .gpu/speech
for f in ljs_lj001_b.wav ljs_lj001_b.txt ljs_lj001_b.segments.tsv ami_mix60.wav ami_mix60.txt; do
  cp "$speech/$f" .gpu/speech/
done
rm -rf .gpu/before && mkdir -p .gpu/before
git archive "$before" server_core whisper_desktop resources | tar -x -C .gpu/before
du -sh .gpu
