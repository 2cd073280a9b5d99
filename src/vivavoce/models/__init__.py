"""Embedded default models: catalog, install step, and path loaders."""

from .catalog import CATALOG, Carrier, ModelSpec, Piece
from .install import ModelStatus, install, status
from .locate import ModelError, cache_dir, model_path

__all__ = [
    "CATALOG",
    "Carrier",
    "ModelError",
    "ModelSpec",
    "ModelStatus",
    "Piece",
    "cache_dir",
    "install",
    "model_path",
    "status",
]
