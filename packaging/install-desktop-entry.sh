#!/usr/bin/env bash
# Adds Whisper Desktop to the application menu of this user (or system-wide with --system):
# the .desktop entry, its icon and the AppStream metadata. Expects `whisper-desktop` on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
id=io.github.whisper_desktop.WhisperDesktop
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
[ "${1:-}" = "--system" ] && prefix=/usr/local/share
install -Dm644 "$here/$id.desktop" "$prefix/applications/$id.desktop"
install -Dm644 "$here/$id.metainfo.xml" "$prefix/metainfo/$id.metainfo.xml"
install -Dm644 "$here/../resources/icons/whisper-desktop.svg" \
  "$prefix/icons/hicolor/scalable/apps/$id.svg"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$prefix/icons/hicolor" 2>/dev/null || true
echo "installed $id into $prefix"
