"""The committed results meet the promises made for them. (`make check-committed` proves that the committed
numbers are what the committed code, params and data produce; these tests say what those numbers must be.)"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.linear_model import Ridge
from statsmodels.tsa.stattools import kpss

from tests.helpers import ROOT

RESULTS = json.loads((ROOT / "metrics" / "evaluate.json").read_text())
PREDICTIONS = pd.read_csv(ROOT / "metrics" / "predictions.csv")
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
# The shipped series, read without the pipeline's code: the scores below are recomputed independently.
SERIES = pd.read_excel(ROOT / PARAMS["ingest"]["path"], sheet_name=PARAMS["ingest"]["sheet"])[
    PARAMS["ingest"]["column"]].to_numpy(dtype=np.float64)
TEST_ORIGINS = PREDICTIONS.loc[PREDICTIONS["split"] == "test", "origin"].to_numpy()


def test_interval_covers_about_ninety_percent_of_the_test_span():
    assert 0.85 <= RESULTS["test_lstm_coverage"] <= 0.95


def test_every_test_month_is_an_origin():
    t = TEST_ORIGINS
    assert RESULTS["test_points"] == len(t) == 423  # every test month is an origin at the default stride 1
    assert (np.diff(t) == 1).all() and t[-1] == len(SERIES) - 1
    assert PREDICTIONS["actual"].to_numpy() == pytest.approx(SERIES[PREDICTIONS["origin"]], abs=1e-6)


def linear_forecasts(t: np.ndarray) -> np.ndarray:
    """The ridge autoregression on the z-scored series, fitted on the training windows (targets before the
    first validation origin), forecasting ``SERIES[t]`` from the ``time_step`` values before it."""
    alpha = PARAMS["evaluate"]["ridge_alpha"]
    train_end = PREDICTIONS.loc[PREDICTIONS["split"] == "val", "origin"].min()
    time_step, difference = PARAMS["window"]["time_step"], PARAMS["normalize"]["difference"]
    if time_step == "auto":  # the documented rule: three seasons within [16, 192], a third of training at most
        time_step = min(max(3 * PARAMS["evaluate"]["season"], 16), 192, train_end // 3)
    if difference == "auto":  # KPSS on the training span, ndiffs' bandwidth, at 5%
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            difference = kpss(SERIES[:train_end], "c", nlags=int(3 * np.sqrt(train_end) / 13))[1] < 0.05
    assert PARAMS["normalize"]["method"] == "zscore" and not difference
    mean, std = SERIES[:train_end].mean(), SERIES[:train_end].std()
    z = (SERIES - mean) / std
    rows = sliding_window_view(z, time_step + 1)[: train_end - time_step]  # targets z[time_step : train_end]
    ridge = Ridge(alpha=alpha).fit(rows[:, :time_step], rows[:, time_step])
    return ridge.predict(sliding_window_view(z, time_step)[t - time_step]) * std + mean


FORECASTS = {  # each model's one-step forecasts of SERIES[t], t the test origins
    "lstm": lambda t: PREDICTIONS.set_index("origin").loc[t, "predicted"].to_numpy(),
    "persistence": lambda t: SERIES[t - 1],
    "seasonal_naive": lambda t: SERIES[t - PARAMS["evaluate"]["season"]],
    "linear": linear_forecasts,
}


@pytest.mark.parametrize("model", ["lstm", "persistence", "seasonal_naive", "linear"])
def test_every_model_is_scored_on_the_same_test_points(model):
    # The model's scores are those of its forecasts at exactly the test origins of predictions.csv.
    errors = FORECASTS[model](TEST_ORIGINS) - SERIES[TEST_ORIGINS]
    assert RESULTS[f"test_{model}_mae"] == pytest.approx(np.abs(errors).mean(), rel=1e-8)
    assert RESULTS[f"test_{model}_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-8)
    # MASE is MAE over the one training-span scale shared by all models.
    assert RESULTS[f"test_{model}_mase"] == pytest.approx(RESULTS[f"test_{model}_mae"] / RESULTS["mase_scale"])
    assert RESULTS[f"test_{model}_rmse"] >= RESULTS[f"test_{model}_mae"] > 0
