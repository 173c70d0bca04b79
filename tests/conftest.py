"""Fixtures; the plain helpers they use live in tests/helpers.py."""
from __future__ import annotations

import os
import shutil
import sys

from lstm_forecast import numerics

# The tests compute as the stages do: every library's CPU code path pinned before torch loads, so that a
# result computed here equals the committed one (tests/test_same_bytes.py runs the unpinned paths). Plugins
# (pyarrow's, hydra's) have loaded numpy by now: `make test` pins it in the environment it starts pytest in.
assert "torch" not in numerics.pin(), "torch was imported before tests/conftest.py could pin its code paths"

import pytest  # noqa: E402
import torch  # noqa: E402

from tests.helpers import (SMALL_PARAMS, STAGES, commit, full_params, git_status, make_repo, repro, sine_series,
                           write_params)


@pytest.fixture(autouse=True)
def _single_thread():
    torch.set_num_threads(1)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run inside an empty temporary folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def dvc_env():
    """Environment for subprocesses: this venv's python and dvc first on PATH, no analytics, git identity."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.com",
    )
    return env


@pytest.fixture
def tiny_project(in_tmp):
    """A temporary folder holding a small series and params, ready for run_stages()."""
    sine_series().to_csv(in_tmp / "series.csv", index=False)
    write_params(in_tmp / "params.yaml", SMALL_PARAMS)
    return in_tmp


@pytest.fixture(scope="session")
def committed(tmp_path_factory, dvc_env):
    """A git + DVC repository with the pipeline, a 240-point series and the small config (every params key,
    for `dvc exp run -S`), reproduced once and committed with dvc.lock and the outputs git tracks. Built
    once per session; tests work on copies (the `repo` fixture)."""
    repo = make_repo(tmp_path_factory.mktemp("template") / "repo", dvc_env, full_params())
    assert repro(repo, dvc_env) == list(STAGES)
    commit(repo, dvc_env, "first run")
    assert git_status(repo, dvc_env) == ""
    return repo


@pytest.fixture
def repo(committed, tmp_path):
    """A fresh copy of the committed repository (.git, .dvc and its cache included), clean and up to date."""
    return shutil.copytree(committed, tmp_path / "repo")
