"""A user's own data in its first hour, through the real `dvc repro`: a short series at the defaults, a setting
it cannot hold caught before any training, an outlier named and kept away from the model."""
import numpy as np
import pandas as pd
import yaml

from tests.helpers import ROOT, commit, make_repo, output_hashes, repro, set_param, sh
from tests.test_dvc_ingest import failed_repro


def monthly(n: int, seed: int = 0) -> pd.DataFrame:
    """A ~400-level monthly series with a trend and a yearly season, like a sales sheet."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 400 + 0.8 * t + 40 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 6, n)
    return pd.DataFrame({"month": pd.date_range("2015-01-01", periods=n, freq="MS").strftime("%Y-%m"),
                         "sales": values.round(1)})


def defaults(**overrides) -> dict:
    """params.yaml as shipped, pointed at series.csv with the README's "Your own data" season (auto)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"].update(path="series.csv", sheet=None, column=None)
    params["evaluate"]["season"] = "auto"
    for key, value in overrides.items():
        section, name = key.split(".")
        params[section][name] = value
    return params


def test_a_60_month_series_runs_at_the_defaults_and_a_setting_it_cannot_hold_stops_before_training(tmp_path,
                                                                                                   dvc_env):
    repo = make_repo(tmp_path / "repo", dvc_env, defaults())
    monthly(60).to_csv(repo / "series.csv", index=False)
    proc = sh(repo, dvc_env, "dvc", "repro", "--no-run-cache")
    log = proc.stdout + proc.stderr
    assert "time_step auto: 14 (three seasons of 12 would be 36; capped at a third of the 42 training values)" in log
    assert "batch_size auto: at most 32, capped at the training windows: 28 today" in log
    assert "forecast.steps auto: 9 (at most 24, capped at the test span's 9 values)" in log
    forecast = pd.read_csv(repo / "metrics" / "forecast.csv")
    assert forecast["time"].tolist() == pd.date_range("2020-01-01", periods=9, freq="MS").strftime("%Y-%m-%d").tolist()
    commit(repo, dvc_env, "reproduced")
    # The README's forecast.steps: 12 is longer than this series' 9 test values: one line from the window stage.
    set_param(repo, "forecast.steps", 12)
    line = failed_repro(repo, dvc_env)
    assert line == ("error: forecast.steps=12 is longer than the test span (9 values), so the bands of the last steps "
                    "could not be checked on test forecasts; use forecast.steps <= 9, or auto, or a longer "
                    "normalize.test")
    proc = sh(repo, dvc_env, "dvc", "repro", "--no-run-cache", check=False)
    assert "Running stage 'train'" not in proc.stdout and "Running stage 'window'" in proc.stdout


def test_an_outlier_is_named_and_clipped_so_the_forecast_stays_within_the_data(tmp_path, dvc_env):
    small = defaults(**{"window.time_step": 24, "train.epochs": 5, "train.ensemble": 1, "train.steps_per_epoch": 0,
                        "train.hidden_size": 8, "crossval.folds": 0,
                        "evaluate.baselines": ["persistence", "seasonal_naive", "linear"]})
    repo = make_repo(tmp_path / "repo", dvc_env, small)
    frame = monthly(126)
    clean = frame["sales"].to_numpy().copy()
    frame.loc[40, "sales"] = 1e6  # 2018-05, in the training span
    frame.to_csv(repo / "series.csv", index=False)
    commit(repo, dvc_env, "data")
    proc = sh(repo, dvc_env, "dvc", "repro", "--no-run-cache")
    # The series trends, so the changes are modelled: the change into the spike and the one out of it.
    assert "normalize: difference: auto chose changes" in proc.stderr
    assert ("normalize: 2 outliers, the one-step changes into 2018-05-01 (1e+06), 2018-06-01 (461.9): further than "
            "25 robust deviations (MAD) from the training span's median; clipped to [") in proc.stderr
    forecast = pd.read_csv(repo / "metrics" / "forecast.csv")
    low, high = clean.min(), clean.max()
    span = high - low
    assert forecast["forecast"].between(low - 0.25 * span, high + 0.25 * span).all(), forecast
    assert (forecast["upper_95"] - forecast["lower_95"]).max() < 2 * span
    # Kept as it is, the same outlier wrecks the forecast: what the clip is for.
    set_param(repo, "normalize.outliers", "keep")
    before = output_hashes(repo)
    assert "normalize" in repro(repo, dvc_env)
    assert output_hashes(repo) != before
    kept = pd.read_csv(repo / "metrics" / "forecast.csv")
    assert not kept["forecast"].between(low - 0.25 * span, high + 0.25 * span).all()
