"""Atomic file writes and the small JSON / Parquet readers and writers the stages share."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import UserError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    A stage that fails or is stopped mid-write therefore never leaves a truncated file for DVC
    to hash and cache: the old file (or none) stays. A SIGKILL can leave the temporary file behind
    (git ignores ``.*.tmp``); the next write to the same path removes it.
    """
    target = inside_project(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Like ``atomic_path`` for a folder: yield an empty temporary folder beside ``path`` and swap it in
    only if the block succeeds. An interruption leaves the old folder, or (in the instant between the
    two renames) none; never a partly written one."""
    target = inside_project(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    old = tmp.with_name(tmp.name[: -len(".tmp")] + ".old.tmp")
    try:
        yield tmp
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def inside_project(path: str | os.PathLike) -> Path:
    """``path``, refused unless it stays inside the folder the stage runs in (the project root, where dvc.yaml
    is): every output goes through here, so no path from a command line or a param writes elsewhere.
    Symlinks are followed, so a link inside the project that points out of it is refused too."""
    root = Path.cwd().resolve()
    if not (root / path).resolve().is_relative_to(root):
        raise UserError(f"{path}: outside the project folder {root}; stages write only inside it")
    return Path(path)


def _remove_leftovers(target: Path) -> None:
    """Temporary files or folders of ``target`` left by a killed run."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON with sorted keys, so reruns are byte-identical."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike) -> Any:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: file not found (run the upstream stage first: dvc repro)")
    return json.loads(p.read_text(encoding="utf-8"))


def write_parquet(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False)


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: file not found (run the upstream stage first: dvc repro)")
    return pd.read_parquet(p, engine="pyarrow", columns=columns)


def write_csv(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6f", lineterminator="\n")
