#!/usr/bin/env bash
# Creates .venv and installs Whisper Desktop into it with the given extras (default:
# desktop,models: the tray app, its server and the offline models). Where an extra needs torch
# (server, desktop, cluster), the CPU build of torch goes in first, so nothing pulls a multi-GB
# CUDA build. An empty argument ("") installs the example client alone, without torch.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1-desktop,models}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
case ",$extras," in
  *,server,* | *,desktop,* | *,cluster,*)
    if ! .venv/bin/python -c "import torch" 2>/dev/null; then
      # CPU torch first. Set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu where the
      # default index would serve a CUDA build (plain PyPI on Linux does).
      .venv/bin/python -m pip install -q "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
    fi
    ;;
esac
.venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"
