"""End to end: the real `dvc` and `git` in a temporary repository, on a shortened config."""
import json

import pandas as pd
import pytest

from tests.helpers import STAGES, git_status, output_hashes, repro, set_param, sh, sine_series


def test_nothing_to_do_after_a_run(repo, dvc_env):
    assert repro(repo, dvc_env) == []
    assert "up to date" in sh(repo, dvc_env, "dvc", "status").stdout


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("plot.dpi", 40, ["plot"]),
        # season changes only the baselines' metrics, not the predictions plot reads: plot stays put. The window
        # stage reads it for time_step: auto, and writes the same index for a fixed time_step.
        ("evaluate.season", 12, ["window", "evaluate", "crossval"]),
        ("crossval.folds", 2, ["window", "crossval"]),  # window checks every fold's limits
        ("train.lr", 0.02, ["train", "evaluate", "crossval", "forecast", "plot"]),
        ("window.time_step", 10, ["window", "train", "evaluate", "crossval", "forecast", "plot"]),
        ("normalize.method", "minmax", ["normalize", "window", "train", "evaluate", "crossval", "forecast", "plot"]),
        # The forecast stage's own params rerun it alone; evaluate's interval method sets its bands too.
        ("forecast.steps", 6, ["window", "forecast"]),
        ("forecast.refit", "none", ["forecast"]),
        ("forecast.levels", [0.5, 0.9], ["window", "forecast"]),
        ("evaluate.interval_method", "split", ["window", "evaluate", "crossval", "forecast", "plot"]),
        ("ingest.stop", 230, list(STAGES)),
    ],
)
def test_a_param_reruns_only_the_stages_that_read_it(repo, dvc_env, key, value, expected):
    set_param(repo, key, value)
    assert repro(repo, dvc_env) == expected
    assert repro(repo, dvc_env) == []


def test_forced_reruns_give_byte_identical_outputs(repo, dvc_env):
    assert repro(repo, dvc_env, "-f") == list(STAGES)
    first = output_hashes(repo)
    assert {"data/series.parquet", "models/model.pt", "metrics/evaluate.json", "metrics/figures/loss.png",
            "metrics/train/metrics.json"} <= set(first)
    assert repro(repo, dvc_env, "-f") == list(STAGES)
    second = output_hashes(repo)
    assert sorted(second) == sorted(first)
    assert [path for path in first if second[path] != first[path]] == []


def test_a_fresh_clone_reproduces_the_committed_lock(committed, tmp_path, dvc_env):
    """What `make repro` does in a fresh clone: there is no DVC remote, so the cached outputs (data/, models/)
    are rebuilt; they must hash to what dvc.lock records, leaving the clone clean and up to date."""
    clone = tmp_path / "clone"
    sh(tmp_path, dvc_env, "git", "clone", "-q", str(committed), str(clone))
    assert not (clone / "models" / "model.pt").exists()
    ran = repro(clone, dvc_env, run_cache=True)
    assert git_status(clone, dvc_env) == ""
    assert json.loads(sh(clone, dvc_env, "dvc", "status", "--json").stdout) == {}
    # The stages whose outputs are missing rerun; those reading only their (identical) outputs do not.
    assert ran == ["ingest", "normalize", "window", "train", "forecast"]
    forced = repro(clone, dvc_env, "-f", run_cache=True)
    assert git_status(clone, dvc_env) == ""
    assert json.loads(sh(clone, dvc_env, "dvc", "status", "--json").stdout) == {}
    assert forced == list(STAGES)


def test_experiments_metrics_and_plots_work(repo, dvc_env):
    env = dvc_env
    sh(repo, env, "dvc", "exp", "run", "-n", "faster", "-S", "train.lr=0.05")
    shown = json.loads(sh(repo, env, "dvc", "exp", "show", "--json").stdout)
    runs = [exp for rev in shown for exp in (rev.get("experiments") or [])]
    names = {run.get("name") for run in runs}
    assert "faster" in names
    params_diff = sh(repo, env, "dvc", "params", "diff", "HEAD", "faster", "--json").stdout
    assert json.loads(params_diff)["params.yaml"]["train.lr"]["new"] == 0.05
    metrics_diff = json.loads(sh(repo, env, "dvc", "metrics", "diff", "HEAD", "faster", "--json").stdout)
    assert "test_lstm_rmse" in metrics_diff["metrics/evaluate.json"]
    sh(repo, env, "dvc", "plots", "diff", "HEAD", "faster", "-o", "plots_html")
    html = (repo / "plots_html" / "index.html").read_text()
    assert "Forecast vs actual" in html and "Loss curves" in html and "Forecast of the future" in html


def test_the_panel_chosen_auto_params_run_through_dvc(repo, dvc_env):
    for key, value in (("normalize.difference", "auto"), ("window.time_step", "auto"), ("window.calendar", "auto"),
                       ("train.ensemble", 2), ("train.highway", True)):
        set_param(repo, key, value)
    proc = sh(repo, dvc_env, "dvc", "repro")
    log = proc.stdout + proc.stderr
    # A noisy sine is stationary; 144 training values and season 24: three seasons capped at a third, 48.
    assert "normalize: difference: auto chose levels: KPSS statistic" in log
    assert ("window: time_step auto: 48 (three seasons of 24 would be 72; capped at a third of the 144 training "
            "values)") in log
    assert "window: calendar auto: ['month'] for frequency MS" in log
    assert "train: ensemble of 2 (seeds 1..2, median forecast)" in log
    assert ("forecast: forecast of 12 steps from 2020-01-01 to 2020-12-01 (MS), by the model retrained on the whole "
            "series") in log
    index = json.loads((repo / "data" / "windows.json").read_text())
    assert (index["time_step"], index["calendar"], index["scale_windows"]) == (48, ["month"], False)
    summary = json.loads((repo / "metrics" / "train" / "metrics.json").read_text())
    assert {"ensemble_spread", "member1_best_epoch", "member2_best_epoch"} <= set(summary)
    assert repro(repo, dvc_env) == []
    # The season moves the input length, so every stage from window on reruns.
    set_param(repo, "evaluate.season", 12)
    assert repro(repo, dvc_env) == ["window", "train", "evaluate", "crossval", "forecast", "plot"]
    assert json.loads((repo / "data" / "windows.json").read_text())["time_step"] == 36


@pytest.mark.parametrize("freq, start, first", [
    ("MS", "2000-01-01", "2020-01-01"),  # the committed series
    ("W-SUN", "2015-01-04", "2019-08-11"),
    ("D", "2019-01-01", "2019-08-29"),
    ("30min", "2020-01-01 00:00", "2020-01-06 00:00:00"),
])
def test_the_forecast_starts_one_period_after_the_last_observation(repo, dvc_env, freq, start, first):
    series = sine_series()
    series["date"] = pd.date_range(start, periods=len(series), freq=freq)
    series.to_csv(repo / "series.csv", index=False)
    if freq == "30min":
        set_param(repo, "window.calendar", "auto")  # hour and day of week, of the future stamps too
    ran = repro(repo, dvc_env, "forecast")
    assert ran == ([] if freq == "MS" else ["ingest", "normalize", "window", "train", "forecast"])
    table = pd.read_csv(repo / "metrics" / "forecast.csv")
    assert table["time"].iloc[0] == first
    assert pd.Timestamp(first) == series["date"].iloc[-1] + pd.tseries.frequencies.to_offset(freq)
    assert json.loads((repo / "data" / "series.json").read_text())["freq"] == freq


def test_season_auto_reads_the_monthly_frequency_through_dvc(repo, dvc_env):
    set_param(repo, "evaluate.season", "auto")
    set_param(repo, "window.time_step", "auto")
    proc = sh(repo, dvc_env, "dvc", "repro")
    log = proc.stdout + proc.stderr
    # evaluate reads data/series.json for the frequency; window and crossval already read it.
    for stage in ("window", "evaluate", "crossval"):
        assert f"{stage}: season auto: 12 for frequency MS (a year of MS steps)" in log, stage
    assert "window: time_step auto: 36 (three seasons of 12" in log
    assert json.loads((repo / "data" / "windows.json").read_text())["time_step"] == 36
    first = output_hashes(repo)
    # auto on monthly data is season 12 exactly: the same outputs, byte for byte.
    set_param(repo, "evaluate.season", 12)
    assert repro(repo, dvc_env) == ["window", "evaluate", "crossval"]
    assert output_hashes(repo) == first
