"""A failed run keeps the last good results: each failure goes through the real `dvc repro` (or `dvc exp run`)
in a committed repository, and must leave every output byte for byte, `git status` clean and `dvc status`
saying the stage must rerun. DVC deletes a stage's outputs before running it unless they are
`persist: true` (dvc.yaml); the stages' atomic writes do the rest (docs/failures.md)."""
import json
import os
import signal
import subprocess
import time

from tests.helpers import commit, git_status, output_hashes, repro, set_param, sh, unwritable
from tests.test_faults import wait_for

# What DVC itself exits with when a stage fails, whatever the stage's own exit code.
DVC_FAILED = 255
# The window stage checks the later stages' limits before any training (lstm_forecast/config/feasibility.py).
SEASON_ERROR = ("error: evaluate.season=5000 reaches before the start of the series: the seasonal naive forecast reads "
                "one season back, and the first scored origin is 48 (crossval fold 1 of 3); use evaluate.season <= 48")


def change(repo, env, key, value):
    """Set a param and commit it, so that what `git status` shows afterwards is only what the run did."""
    set_param(repo, key, value)
    commit(repo, env, f"{key}={value}")


def failing_repro(repo, env, *args) -> subprocess.CompletedProcess:
    proc = sh(repo, env, "dvc", *(args or ("repro", "--no-run-cache")), check=False)
    assert proc.returncode == DVC_FAILED, proc.stdout + proc.stderr
    return proc


def stage_errors(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def assert_kept(repo, env, before, stage, status=""):
    """Every output as before, byte for byte; `git status` as expected; `dvc status` has the stage to rerun."""
    assert output_hashes(repo) == before
    assert git_status(repo, env) == status
    assert stage in json.loads(sh(repo, env, "dvc", "status", "--json").stdout)


def test_a_user_error_in_evaluate_keeps_the_results(repo, dvc_env):
    before = output_hashes(repo)
    change(repo, dvc_env, "evaluate.season", 5000)
    proc = failing_repro(repo, dvc_env)
    assert stage_errors(proc) == [SEASON_ERROR]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.rstrip().endswith("exited with 2")
    # The window stage reads evaluate.season too (for time_step: auto, and to check its reach): it stopped the
    # run before evaluate; every output is the last good one.
    assert_kept(repo, dvc_env, before, "evaluate")


def test_a_user_error_in_train_keeps_the_model_and_curves(repo, dvc_env):
    before = output_hashes(repo)
    change(repo, dvc_env, "train.batch_size", 500)
    proc = failing_repro(repo, dvc_env)
    # Stopped by the window stage, before any training (the train stage checks it again for the library).
    assert stage_errors(proc) == ["error: train.batch_size=500 is larger than the 36 training windows (crossval fold "
                                  "1 of 3); use at most 36, or auto"]
    assert "Traceback" not in proc.stderr
    assert_kept(repo, dvc_env, before, "train")


def test_a_user_error_in_forecast_keeps_the_forecast_and_its_model(repo, dvc_env):
    before = output_hashes(repo)
    change(repo, dvc_env, "forecast.steps", 100)
    proc = failing_repro(repo, dvc_env)
    # Stopped by the window stage, before any training (the forecast stage checks it again for the library).
    assert stage_errors(proc) == [
        "error: forecast.steps=100 is longer than the test span (48 values), so the bands of the last steps could "
        "not be checked on test forecasts; use forecast.steps <= 48, or auto, or a longer normalize.test"]
    assert "Traceback" not in proc.stderr
    assert_kept(repo, dvc_env, before, "forecast")


def test_a_bug_prints_its_traceback_and_keeps_the_results(repo, dvc_env):
    module = repo / "pipeline" / "evaluate.py"
    source = module.read_text()
    line = "    frame = read_parquet(scaled_path)\n"
    assert source.count(line) == 1
    module.write_text(source.replace(line, '    raise RuntimeError("injected bug")\n' + line))
    commit(repo, dvc_env, "a bug in evaluate")
    before = output_hashes(repo)
    proc = failing_repro(repo, dvc_env)
    assert "Traceback (most recent call last):" in proc.stderr
    assert "RuntimeError: injected bug" in proc.stderr
    assert proc.stderr.rstrip().endswith("exited with 1")
    assert_kept(repo, dvc_env, before, "evaluate")


def test_killing_dvc_mid_train_keeps_the_previous_model(repo, dvc_env):
    before = output_hashes(repo)
    change(repo, dvc_env, "train.epochs", 100000)
    proc = subprocess.Popen(["dvc", "repro", "--no-run-cache"], cwd=repo, env=dvc_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    wait_for(proc, "training on")
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)  # dvc and the stage under it, with no chance to clean up
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert_kept(repo, dvc_env, before, "train")


def test_a_later_successful_run_replaces_the_kept_results(repo, dvc_env):
    before = output_hashes(repo)
    change(repo, dvc_env, "train.batch_size", 500)
    failing_repro(repo, dvc_env)
    assert output_hashes(repo) == before
    change(repo, dvc_env, "train.batch_size", 8)
    # The window stage reads train.batch_size too (to check it) and writes the same index.
    assert repro(repo, dvc_env) == ["window", "train", "evaluate", "crossval", "forecast", "plot"]
    after = output_hashes(repo)
    stage_outputs = ("models/", "metrics/")
    # The forecast figure's history is the series' last values, which no train param moves.
    moved = sorted(p for p in before if p.startswith(stage_outputs) and p != "metrics/forecast_history.csv")
    assert sorted(p for p in after if after[p] != before[p]) == moved
    assert json.loads(sh(repo, dvc_env, "dvc", "status", "--json").stdout) == {}


def test_an_unwritable_output_folder_fails_before_any_work(repo, dvc_env):
    before = output_hashes(repo)
    change(repo, dvc_env, "train.lr", 0.02)
    with unwritable(repo / "models"):
        proc = failing_repro(repo, dvc_env)
    assert stage_errors(proc) == ["error: models/model.pt: its folder models cannot take a new file "
                                  "(Operation not permitted); make it writable"]
    assert "training on" not in proc.stderr  # refused before reading the data, let alone training
    assert_kept(repo, dvc_env, before, "train")


def test_a_failed_experiment_keeps_the_workspace_results(repo, dvc_env):
    before = output_hashes(repo)
    proc = failing_repro(repo, dvc_env, "exp", "run", "-S", "evaluate.season=5000")
    assert stage_errors(proc) == [SEASON_ERROR]
    # `exp run -S` writes the value into params.yaml and leaves it there; the window stage, which reads the
    # season too, stopped the run; nothing else changes.
    assert_kept(repo, dvc_env, before, "evaluate", status=" M params.yaml\n")
