"""The same bytes whatever runs them, through real `dvc repro`: 1 worker or 2 (lstm_forecast/parallel.py),
and torch's CPU kernels at their lowest level or at this machine's highest, with the C kernel built for AVX2
and MKL held to AVX2 as on an AVX2-only machine (lstm_forecast/numerics.py pins every library's code path).
The control shows what the pin is for: unpinned, the same two levels give different bytes."""
import hashlib

import pytest

from tests.helpers import full_params, make_repo, output_hashes, repro

# Two members and two statistical baselines, so that members, folds, fits and backtest blocks all spread.
PARAMS = full_params(**{"train.ensemble": 2, "evaluate.baselines": ["persistence", "linear", "auto_ets", "auto_theta"]})
LOWEST = {"ATEN_CPU_CAPABILITY": "default"}
# This machine's highest torch level (whatever it is: nothing set), the kernel and MKL as on an AVX2-only CPU.
AVX2_LIKE = {"LSTM_FORECAST_MARCH": "x86-64-v3", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
RUNS = {
    "1 worker, lowest": {"LSTM_FORECAST_WORKERS": "1"} | LOWEST,
    "2 workers, lowest": {"LSTM_FORECAST_WORKERS": "2"} | LOWEST,
    "1 worker, highest, AVX2 build": {"LSTM_FORECAST_WORKERS": "1"} | AVX2_LIKE,
}


def outputs(tmp_path_factory, dvc_env, env: dict, *targets: str) -> dict[str, str]:
    """sha256 of every output of `dvc repro` (of ``targets`` only: those of the stages it ran) in a fresh
    repository, and dvc.lock's text, with ``env`` added to the environment."""
    env = {k: v for k, v in dvc_env.items() if k not in ("ATEN_CPU_CAPABILITY", "LSTM_FORECAST_NUMERICS")} | env
    repo = make_repo(tmp_path_factory.mktemp("same") / "repo", env, PARAMS)
    repro(repo, env, *targets)
    if targets:
        return {p.relative_to(repo).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(repo.glob("models/*.pt")) + sorted(repo.glob("data/*"))}
    return output_hashes(repo) | {"dvc.lock": (repo / "dvc.lock").read_text()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dvc_env):
    return {name: outputs(tmp_path_factory, dvc_env, env) for name, env in RUNS.items()}


def test_outputs_are_the_same_bytes_with_one_worker_or_two(runs):
    assert runs["1 worker, lowest"] == runs["2 workers, lowest"]


def test_outputs_are_the_same_bytes_at_torchs_lowest_cpu_level_and_its_highest(runs):
    assert runs["1 worker, lowest"] == runs["1 worker, highest, AVX2 build"]


def test_unpinned_the_two_levels_differ(tmp_path_factory, dvc_env):
    # The control: what the pin above prevents (the train stage alone, where it shows first).
    native = {"LSTM_FORECAST_NUMERICS": "native", "LSTM_FORECAST_WORKERS": "1"}
    lowest = outputs(tmp_path_factory, dvc_env, native | LOWEST, "train")
    highest = outputs(tmp_path_factory, dvc_env, native, "train")
    assert lowest["models/model.pt"] != highest["models/model.pt"]
