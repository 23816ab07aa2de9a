#!/usr/bin/env bash
# Refreshes the UI translation: collects the strings (pyside6-lupdate), fills in the German
# texts (scripts/i18n_de.py) and compiles the .qm that ships in resources/i18n.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${VENV:-.venv}/bin"
"$bin/pyside6-lupdate" whisper_desktop/*.py whisper_desktop/widgets/*.py \
  -ts resources/i18n/whisper_desktop_de.ts
"$bin/python" scripts/i18n_de.py
"$bin/pyside6-lrelease" resources/i18n/whisper_desktop_de.ts -qm resources/i18n/whisper_desktop_de.qm
