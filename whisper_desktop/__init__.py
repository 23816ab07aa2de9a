"""Whisper Desktop: tray app with live captions. Importing this package must not import Qt."""
