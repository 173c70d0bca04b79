"""Helpers the tests share: small inputs, running stages in-process, and scratch git + DVC repositories."""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lstm_forecast.config.presets import REFERENCE

ROOT = Path(__file__).resolve().parents[1]


def sine_series(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A noisy sine with a period of 24 steps and monthly time stamps."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 40 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 3, n)
    return pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS"), "level": values.round(3)})


# The tests' own small configuration: one member, every epoch run (no early stopping), levels, no calendar
# inputs, no highway, a split conformal interval, so that what each test checks does not move with the
# panel-chosen defaults, which are also the params dataclasses' (tests/test_pipeline_dvc.py runs those too).
SMALL_PARAMS = {
    "ingest": {"path": "series.csv", "missing": "error"},
    "normalize": {"train": 0.6, "val": 0.2, "test": 0.2, "method": "zscore", "difference": False},
    "window": {"time_step": 12, "target": "sequence", "calendar": []},
    "train": {"hidden_size": 8, "num_layers": 2, "lr": 0.01, "batch_size": 16, "epochs": 3, "patience": 0, "seed": 1,
              "threads": 1, "ensemble": 1, "steps_per_epoch": 0, "highway": False},
    # The statistical baselines have tests of their own (test_statistical.py): AutoARIMA's fits alone would
    # add seconds to every small run.
    "evaluate": {"season": 24, "interval_method": "split", "baselines": ["persistence", "seasonal_naive", "linear"]},
    "crossval": {"folds": 3},
    "forecast": {"steps": 12},
    "plot": {"width": 6.0, "height": 3.0, "dpi": 50},
}


def reference_training(cls, **changes):
    """``cls`` (FitSettings or TrainParams) with the tutorial's training, ``REFERENCE["train"]`` (2 x 8 units, no
    highway, one member, every window once an epoch: the dataclasses' defaults before they became the panel's),
    but for ``changes``: what the training loop's unit tests were written against, and fast."""
    return cls(**(REFERENCE["train"] | changes))


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


STAGES = ("ingest", "normalize", "window", "train", "evaluate", "crossval", "forecast", "plot")


def stage_argv(stage: str) -> list[str]:
    """The stage's arguments exactly as dvc.yaml's ``cmd`` gives them (after ``python -m pipeline.<stage>``)."""
    cmd = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["cmd"]
    words = shlex.split(cmd)
    assert words[:3] == ["python", "-m", f"pipeline.{stage}"], cmd
    return words[3:]


def run_stages(stages=STAGES) -> None:
    """Run stages in-process in the current folder, with dvc.yaml's paths; fail on a non-zero exit."""
    for stage in stages:
        main = importlib.import_module(f"pipeline.{stage}").main
        assert main(stage_argv(stage)) == 0, f"stage {stage} failed"


# --- temporary git + DVC repositories for end-to-end tests ---


def sh(cwd, env, *args, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


# The project's code folders: the stages, the library they share, the CI tools.
PACKAGES = ("pipeline", "lstm_forecast", "ci")


def make_repo(repo: Path, env: dict, params: dict) -> Path:
    """A committed git + DVC repository holding this project's code folders, dvc.yaml, .gitignore, a 240-point
    series as ``series.csv`` and ``params`` (not yet reproduced)."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, repo / package, ignore=shutil.ignore_patterns("__pycache__"))
    # .gitignore keeps the stages' __pycache__ out of commits and `git status`.
    for name in ("dvc.yaml", ".gitignore"):
        shutil.copy(ROOT / name, repo / name)
    sine_series().to_csv(repo / "series.csv", index=False)
    write_params(repo / "params.yaml", params)
    sh(repo, env, "git", "init", "-q")
    sh(repo, env, "dvc", "init", "-q")
    commit(repo, env, "pipeline")
    return repo


def commit(repo: Path, env: dict, message: str) -> None:
    sh(repo, env, "git", "add", "-A")
    sh(repo, env, "git", "commit", "-qm", message, check=False)  # nothing to commit is fine


def repro(repo: Path, env: dict, *extra: str, run_cache: bool = False) -> list[str]:
    """Run `dvc repro` (without the run cache unless asked); return the stages that ran, in order."""
    flags = () if run_cache else ("--no-run-cache",)
    out = sh(repo, env, "dvc", "repro", *flags, *extra).stdout
    return re.findall(r"Running stage '(\w+)'", out)


def git_status(repo: Path, env: dict) -> str:
    return sh(repo, env, "git", "status", "--porcelain", "--untracked-files=all").stdout


def declared_outputs(repo: Path) -> list[str]:
    """Every path dvc.yaml's stages write: their outs, metrics and plots."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    entries = [e for stage in stages.values() for kind in ("outs", "metrics", "plots") for e in stage.get(kind, [])]
    return [e if isinstance(e, str) else next(iter(e)) for e in entries]


def output_hashes(repo: Path) -> dict[str, str]:
    """sha256 of every file under every declared output, keyed by its path relative to ``repo``."""
    hashes = {}
    for out in declared_outputs(repo):
        path = repo / out
        assert path.exists(), f"{out}: declared in dvc.yaml but not written"
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        hashes.update({p.relative_to(repo).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    return hashes


def set_param(repo: Path, key: str, value) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    section, name = key.split(".")
    params[section][name] = value
    write_params(repo / "params.yaml", params)


def full_params(**overrides) -> dict:
    """This project's params.yaml (every key, as `dvc exp run -S` needs) shrunk to the 240-point series."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    chosen = params["evaluate"]["interval_method"]
    for section, values in SMALL_PARAMS.items():
        params[section].update(values)
    params["ingest"].update(sheet=None, column=None)
    params["evaluate"]["interval_method"] = chosen  # the end-to-end runs check the chosen interval (adaptive)
    for key, value in overrides.items():
        section, name = key.split(".")
        params[section][name] = value
    return params


@contextlib.contextmanager
def unwritable(folder: Path):
    """Make ``folder`` refuse new files even to root (``chattr +i``; os.access and chmod do not stop root).
    Skips the test if this file system or user cannot set the flag."""
    proc = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"chattr +i {folder} failed, so no folder can be made unwritable here: {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
