#!/usr/bin/env bash
# One command for the tests on a fresh Debian machine: system packages, .venv, lint, pytest.
# The tests start the services they need themselves (Xvfb + trayer, PulseAudio, a server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-packages.sh
bash scripts/install.sh desktop,models,test,cluster
.venv/bin/ruff check .
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
[ $rc -eq 5 ] && { echo "pytest collected no tests" >&2; exit 1; }
exit $rc
