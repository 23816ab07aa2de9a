"""Models: resolve a spec, download or convert it, and load it with alignment heads set."""

from server_core.errors import ModelError
from server_core.models.load import load_model
from server_core.models.resolve import PACKS, ResolvedModel, available_offline, resolve_model

__all__ = [
    "ModelError",
    "PACKS",
    "ResolvedModel",
    "available_offline",
    "load_model",
    "resolve_model",
]
