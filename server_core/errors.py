"""Exceptions shared across the layers (no torch): each str() is one line for people."""

from __future__ import annotations


class DuplicateSessionError(KeyError):
    """A session with this client id is already open."""

    def __str__(self) -> str:
        return f"client_id {self.args[0]!r} is already connected"


class SessionClosedError(RuntimeError):
    """Audio was pushed into a session after end() or abort()."""


class EngineError(RuntimeError):
    """The engine cannot do what was asked (not running, stopping, ...)."""


class ModelError(Exception):
    """A model spec that cannot be resolved or loaded; str() is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ComputeDeviceError(EngineError):
    """The compute device asked for (``cuda``, ``cuda:1``, ...) is not there; one line."""
