"""Streaming Whisper engine and local server (no Qt)."""

__version__ = "0.1.0"
