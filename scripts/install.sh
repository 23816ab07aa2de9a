#!/usr/bin/env bash
# Creates .venv and installs Whisper Desktop into it: the CPU build of torch first (so nothing
# pulls a multi-GB CUDA build), then the project with the given extras (default: desktop,models).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-desktop,models}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  # CPU torch first. Set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu where the default
  # index would serve a CUDA build (plain PyPI on Linux does).
  .venv/bin/python -m pip install -q "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
fi
.venv/bin/python -m pip install -q -e ".[$extras]"
