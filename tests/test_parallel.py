"""Work spread over worker processes (lstm_forecast/parallel.py): the worker count, results in task order,
errors as a serial run raises them, log lines and Ctrl-C passed through, and the same bytes with any number
of workers (the training here; every output through real dvc in test_same_bytes.py)."""
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from lstm_forecast import parallel
from lstm_forecast.data.artifacts import CheckpointMeta
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.model.checkpoint import save_checkpoint
from lstm_forecast.model.members import fit, refit
from lstm_forecast.model.training import Diverged, FitSettings
from tests.helpers import ROOT, SMALL_PARAMS, reference_training, run_stages, stage_argv, write_params
from tests.test_train import sine_windows

log = logging.getLogger("tests.parallel")


def square(x):
    return x * x


def pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


def nested(_):
    return parallel.run_all(pid_after, [0.0, 0.0])


def fails_at(i):
    if i in (1, 3):
        raise ArgumentError("batch_size", i, f"task {i} failed")
    if i == 2:
        raise Diverged("task 2 diverged")
    time.sleep(0.3)
    return i


def started_after(seconds):
    started = time.monotonic()
    time.sleep(seconds)
    return started


def logs(i):
    log.info("task %d says hello", i)
    return i


@pytest.fixture
def workers(monkeypatch):
    def use(n):
        monkeypatch.setenv(parallel.WORKERS_ENV, str(n))
    return use


def test_the_worker_count_defaults_to_the_cores_and_is_checked(monkeypatch):
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    assert parallel.workers() == parallel.cores() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(parallel.WORKERS_ENV, " 3 ")
    assert parallel.workers() == 3
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(parallel.WORKERS_ENV, bad)
        with pytest.raises(UserError, match=rf"^\$LSTM_FORECAST_WORKERS='{bad}' is not a number of worker processes; "
                                            r"use a whole number >= 1 \(1: one task at a time\), or leave it unset "
                                            rf"for every core \({parallel.cores()} here\)$"):
            parallel.workers()


def test_results_come_back_in_task_order_from_several_processes(workers):
    workers(2)
    assert parallel.run_all(square, list(range(20))) == [x * x for x in range(20)]
    pids = parallel.run_all(pid_after, [0.5, 0.5])
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two workers, side by side
    workers(1)
    assert parallel.run_all(pid_after, [0.0, 0.0]) == [os.getpid()] * 2  # one: in this process


def test_a_partial_last_round_is_shared_only_when_the_workers_are_every_core():
    # (tasks, workers, cores) -> processes
    assert parallel.process_count(3, 2, 2) == 3  # three members on two cores: all at once, not two then one
    assert parallel.process_count(5, 4, 4) == 5
    assert parallel.process_count(4, 2, 2) == 2  # two full rounds: nothing idles
    assert parallel.process_count(9, 2, 2) == 2  # many rounds: the costliest go first instead
    assert parallel.process_count(3, 2, 16) == 2  # the user held the workers below the cores: held
    assert parallel.process_count(1, 2, 2) == 1


def test_the_costliest_tasks_start_first_and_results_keep_their_order(workers):
    workers(2)
    starts = parallel.run_all(started_after, [0.4] * 4, costs=[1, 2, 3, 4])
    assert max(starts[2], starts[3]) < min(starts[0], starts[1])  # 3 and 2 first, then 1 and 0
    assert parallel.run_all(square, [1, 2, 3], costs=[1, 3, 2]) == [1, 4, 9]


def test_work_alongside_runs_on_the_next_calls_workers_or_on_leaving(workers):
    workers(2)
    with parallel.alongside(pid_after, [0.0, 0.0, 0.0]) as side:
        assert side.results is None
        assert parallel.run_all(square, [1, 2, 3], costs=[1, 2, 3]) == [1, 4, 9]  # its own results only
        assert side.results is not None
        assert parallel.run_all(pid_after, [0.0, 0.0]) != [os.getpid()] * 2  # taken once, not again
    assert len(side.results) == 3 and os.getpid() not in side.results  # run by that call's workers
    with parallel.alongside(square, [4, 5]) as side:
        pass
    assert side.results == [16, 25]  # no call spread them: run on leaving
    workers(1)
    with parallel.alongside(pid_after, [0.0]) as side:
        parallel.run_all(square, [1, 2])
    assert side.results == [os.getpid()]
    with pytest.raises(ArgumentError):
        with parallel.alongside(square, [6]) as side:
            parallel.run_all(fails_at, [1])
    assert side.results is None and not parallel._sides  # a failure runs nothing more


def test_a_worker_runs_nested_work_itself(workers):
    workers(2)
    inner = parallel.run_all(nested, [0, 1])
    assert all(len(set(pids)) == 1 for pids in inner) and os.getpid() not in inner[0]


@pytest.mark.parametrize("count", [1, 2])
def test_the_first_failing_task_in_order_is_the_error_raised(workers, count):
    workers(count)
    with pytest.raises(ArgumentError) as caught:
        parallel.run_all(fails_at, [0, 1, 2, 3], jobs=[7, 8, 9, 9])
    err = caught.value
    # Rebuilt whole from a worker: its parts, its message, and the job it belonged to.
    assert (err.name, err.value, err.reason, str(err), err.job) == ("batch_size", 1, "task 1 failed",
                                                                    "batch_size=1: task 1 failed", 8)


def test_what_workers_log_is_logged_by_the_caller(workers, caplog):
    workers(2)
    caplog.set_level("INFO", logger=log.name)
    parallel.run_all(logs, [0, 1, 2])
    assert sorted(r.getMessage() for r in caplog.records if r.name == log.name) == [
        f"task {i} says hello" for i in range(3)]


def test_members_train_to_the_same_bytes_with_one_worker_or_two(workers, tmp_path):
    train, val = sine_windows()
    settings = reference_training(FitSettings, epochs=3, batch_size=35, seed=3, ensemble=3, patience=0)
    runs = {}
    for count in (1, 2):
        workers(count)
        result = fit(train, val, settings, torch.device("cpu"))
        again = refit(train, settings, (3, 2, 1), 1, torch.device("cpu"))
        path = tmp_path / f"{count}.pt"
        save_checkpoint(path, result.model, CheckpointMeta((1, 2, 3), 10, "sequence", 1, "recursive"))
        runs[count] = (path.read_bytes(), [(m.train_losses, m.val_losses, m.best_epoch) for m in result.members],
                       result.val_loss, result.spread, [p.detach().clone() for p in again.parameters()])
    one, two = runs[1], runs[2]
    assert one[0] == two[0] and one[1:4] == two[1:4]
    assert all(torch.equal(a, b) for a, b in zip(one[4], two[4]))
    assert len({tuple(m[0]) for m in one[1]}) == 3  # three members, each its own trajectory


def test_ctrl_c_stops_every_worker_after_its_batch(tiny_project):
    run_stages(["ingest", "normalize", "window"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "train": {**SMALL_PARAMS["train"], "epochs": 100000,
                                                                          "ensemble": 2}})
    env = {**os.environ, "PYTHONPATH": str(ROOT), parallel.WORKERS_ENV: "2"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.train", *stage_argv("train")], env=env,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "training on" in line:
            break
    time.sleep(2.0)  # both members well into training, each in its worker
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) >= 2
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 128 + signal.SIGINT
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted (Ctrl-C) at epoch ") and last.endswith(
        "; nothing was saved (dvc repro reruns the stage)"), err
    assert not any(os.path.exists(f"/proc/{pid}") for pid in children)  # no worker left behind
    assert not (tiny_project / "models").exists()


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_forecasts_are_the_same_bits_in_blocks_of_any_size_and_on_any_worker(workers, monkeypatch, strategy):
    from lstm_forecast.model import forecasting
    from lstm_forecast.model.network import LSTMForecaster, ModelConfig
    from lstm_forecast.prep.windows import Windows

    torch.manual_seed(0)
    model = LSTMForecaster(ModelConfig(hidden_size=8, input_size=2, output_size=1 if strategy == "recursive" else 6,
                                       highway=12)).eval()
    series, features = torch.randn(700), torch.randn(700, 1)
    windows = Windows(series, (12, 680), 12, "last", 6, 1, False, features)
    workers(1)
    monkeypatch.setattr(forecasting, "TASK_WINDOWS", 10_000)
    whole = forecasting.forecast(model, windows, 6, strategy, spread=True)  # every window in one batch
    monkeypatch.setattr(forecasting, "TASK_WINDOWS", 50)
    monkeypatch.setattr(forecasting, "FORECAST_CHUNK", 16)
    serial = forecasting.forecast(model, windows, 6, strategy, spread=True)
    workers(2)
    spread = forecasting.forecast(model, windows, 6, strategy, spread=True)
    assert whole.shape == (668, 6) and torch.equal(whole, serial) and torch.equal(whole, spread)
