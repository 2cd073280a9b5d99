"""Where models live on disk: carrier package directories and the models cache."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path

from .catalog import CATALOG, Carrier, ModelSpec, Piece


class ModelError(RuntimeError):
    """A model is unknown, missing, or its bytes are not the pinned ones."""


def cache_dir() -> Path:
    """`$VIVAVOCE_MODELS_DIR`, else `$XDG_CACHE_HOME/vivavoce/models` (~/.cache by default)."""
    if env := os.environ.get("VIVAVOCE_MODELS_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vivavoce" / "models"


def spec(name: str) -> ModelSpec:
    try:
        return CATALOG[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(CATALOG)}") from None


def installed_version(carrier: Carrier) -> str | None:
    try:
        return importlib.metadata.version(carrier.dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def piece_path(piece: Piece) -> Path | None:
    # find_spec on a top-level name does not import it: silero_vad's
    # __init__ would pull in torch.
    found = importlib.util.find_spec(piece.carrier.module)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / piece.path


def target_path(model: ModelSpec, cache: Path | None = None) -> Path | None:
    """The path a loader gets: the cached assembly, or the file inside its carrier."""
    if model.assembled:
        return (cache or cache_dir()) / model.filename
    return piece_path(model.pieces[0])


def model_path(name: str, cache: Path | None = None) -> Path:
    """Plain path of an installed model (a file, or a directory for "stt")."""
    path = target_path(spec(name), cache)
    if path is None or not path.exists():
        raise ModelError(
            f"model {name!r} is not installed; run `vivavoce models install {name}`"
        )
    return path
