"""Atomic file writes and the small JSON / Parquet readers and writers the stages share; and ``check_outputs``,
the stages' rule of where outputs may go (the writers themselves write wherever they are told)."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from lstm_forecast.errors import MissingInput, UserError


# Top-level folders of the project that no stage writes into: its sources, its tools' state, the venv.
PROTECTED = (".git", ".dvc", ".venv", ".github", "pipeline", "lstm_forecast", "ci", "tests", "bench")


def check_outputs(*paths: str | os.PathLike) -> None:
    """The stages' policy, applied by each to its output paths before any work is done: refuse an output path
    that leaves the project's output folders or whose folder cannot take a new file.

    The project is the folder the stage runs in (where dvc.yaml is; DVC runs stages there). Outputs go in
    a folder of it (data/, models/, metrics/, ...): not outside it (``../x``, an absolute path elsewhere, a
    symlink out), not at its top level (params.yaml, dvc.yaml) and not in its sources or tools' state.
    A file is created and removed in each output's folder (made, and removed again, if missing), as every
    output is written: to a temporary name beside it, then renamed. ``os.access`` would not do: root passes
    it even where the file system refuses (read-only mount, ``chattr +i``).
    """
    for path in paths:
        _check_inside_project(path)
    for path in paths:
        _check_writable(Path(path))


def _check_inside_project(path: str | os.PathLike) -> None:
    root = Path.cwd().resolve()
    resolved = (root / path).resolve()  # follows symlinks
    if not resolved.is_relative_to(root):
        raise UserError(f"{path}: outside the project folder {root}; stages write only inside it")
    parts = resolved.relative_to(root).parts
    if len(parts) < 2 or parts[0] in PROTECTED:
        raise UserError(
            f"{path}: not an output folder; stages write into a folder of the project such as data/, models/ "
            f"or metrics/, not its top level or {', '.join(PROTECTED)}"
        )


def _check_writable(target: Path) -> None:
    """Create ``target``'s folder (with any missing above it) and a file in it, then remove all of them: a
    stage that fails later leaves no trace, not even an empty folder."""
    folder = target.parent
    missing = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    probe = _temp_name(target)  # a name the next write's leftover sweep removes, should a SIGKILL strand it
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as err:
        raise UserError(f"{target}: its folder {folder} cannot take a new file ({err.strerror}); make it "
                        "writable") from None
    finally:
        for created in missing:
            with contextlib.suppress(OSError):
                created.rmdir()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``, wherever that is; rename it into place only if the block succeeds.

    A stage that fails or is stopped mid-write therefore never leaves a truncated file for DVC
    to hash and cache: the old file (or none) stays. A SIGKILL can leave the temporary file behind
    (git ignores ``.*.tmp``); the next write to the same path removes it. A folder that cannot take
    the file is a UserError naming it. Where a stage may write is ``check_outputs``'s to say, not this.
    """
    _check_writable(Path(path))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = _temp_name(target)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies, as for any file
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Like ``atomic_path`` for a folder: yield an empty temporary folder beside ``path`` and swap it in
    only if the block succeeds. A failure or a SIGTERM leaves the old folder; only a SIGKILL in the instant
    between the two renames leaves none. Never a partly written one."""
    _check_writable(Path(path))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = _temp_name(target)
    tmp.mkdir()
    old = tmp.with_name(tmp.name[: -len(".tmp")] + ".old.tmp")
    try:
        yield tmp
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        if old.exists() and not target.exists():
            os.replace(old, target)  # stopped between the renames: put the previous folder back
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")


def _remove_leftovers(target: Path) -> None:
    """Temporary files or folders of ``target`` left by a killed run: ``.<name>.<8 hex digits>[.old].tmp``.
    The fixed-width tag keeps the pattern from matching another output's leftovers (``.x.json.*`` for ``x``)."""
    tag = "[0-9a-f]" * 8
    for pattern in (f".{glob.escape(target.name)}.{tag}.tmp", f".{glob.escape(target.name)}.{tag}.old.tmp"):
        for stale in target.parent.glob(pattern):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON with sorted keys, so reruns are byte-identical. A NaN or an infinity is
    a bug (ValueError): JSON has none, and DVC cannot read a metrics file holding Python's ``NaN``."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike) -> Any:
    p = Path(path)
    if not p.is_file():
        raise MissingInput(f"{p}: file not found")
    return json.loads(p.read_text(encoding="utf-8"))


def write_parquet(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False)


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise MissingInput(f"{p}: file not found")
    return parquet_frame(p, columns)


def parquet_frame(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file on this thread, as pandas' reader does but without its dataset scan.

    pandas reads through pyarrow's dataset scanner, whose worker threads can still be winding down
    when a short-lived stage exits; the process then aborts in C++ ("terminate called without an
    active exception", exit 134) after its work is done (apache/arrow#39862). Reading the one file
    directly with threads off gives the same frame and starts no scan."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        return file.read(columns=columns, use_threads=False).to_pandas(use_threads=False)


def write_csv(path: str | os.PathLike, frame: pd.DataFrame, project: bool = False) -> None:
    """``project=True``: refuse first what ``check_outputs`` refuses (the stages check their paths up front)."""
    if project:
        check_outputs(path)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6f", lineterminator="\n")
