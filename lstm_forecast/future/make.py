"""From the evaluated model to the forecasting model: its bands calibrated on rolling-origin forecasts of the
validation and test spans, its honest test coverage, and the network retrained on the whole series (the
forecast stage, and the Forecaster's predict)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.data.artifacts import CheckpointMeta, Normalization, WindowIndex
from lstm_forecast.evaluation.intervals import local_scale, volatility_floor
from lstm_forecast.evaluation.metrics import naive_scale
from lstm_forecast.future.bands import Inputs, calibrate, level_name, series_times, stamp_text
from lstm_forecast.future.model import FutureModel
from lstm_forecast.model.fitting import refit_whole, whole_series
from lstm_forecast.model.network import Ensemble

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Honesty:
    """How the bands did where they could be checked: per level, the share of test forecasts inside bands
    calibrated on validation only, per step (S,); the calibration forecasts' origins; the volatility at the
    end of the series; the seconds each part took; and per level, those bands' interval score and pinball
    loss per step, scaled like MASE (S,)."""

    coverage: dict[float, np.ndarray]
    origins: int
    volatility: float
    seconds: dict[str, float]
    msis: dict[float, np.ndarray]
    pinball: dict[float, np.ndarray]


def make_future(model: Ensemble, meta: CheckpointMeta, series: pd.DataFrame, freq: str | None, column: str,
                norm: Normalization, index: WindowIndex, evaluate: EvaluateParams, levels: tuple[float, ...],
                steps: int, train: TrainParams | None, device: torch.device | None = None,
                uid: str | int | float | None = None) -> tuple[FutureModel, Honesty]:
    """The forecasting model of ``series`` (ingest's frame: ``value`` and, with dates, ``time``) and how honest
    its bands were. ``evaluate``: season and stride resolved; ``train``: retrain on the whole series with these
    params, None to keep the evaluated model (and its scaler). ``uid``: the series' id, saved with its values."""
    values = series["value"].to_numpy(dtype=np.float64)
    times = series_times(series)
    freq = freq if times is not None else None
    train_lo, train_hi = norm.splits["train"]
    n, scale = len(values), naive_scale(values[train_lo:train_hi])
    floor = volatility_floor(scale)
    inputs = Inputs.build(values, times, norm, index.calendar, freq, steps)
    clock = time.perf_counter()
    cal = calibrate(model, meta.strategy, inputs, norm, index.time_step, index.scale_windows, index.origins["val"][0],
                    steps, evaluate.interval_window, floor, evaluate.stride)
    seconds = {"backtest": time.perf_counter() - clock}
    clock = time.perf_counter()
    future_model, future_norm = model, norm
    if train is not None:
        future_norm = whole_series(norm, values)
        whole = Inputs.build(values, times, future_norm, index.calendar, freq, steps)
        future_model = refit_whole(whole.z[:n], None if whole.features is None else whole.features[:n], index, meta,
                                   train, model.config.output_size, device)
    seconds["refit"] = time.perf_counter() - clock
    half = {lv: cal.future_half_widths(lv, evaluate.interval_method, evaluate.interval_gamma, n) for lv in levels}
    checks = {lv: cal.test_check(lv, evaluate.interval_method, evaluate.interval_gamma, scale) for lv in levels}
    history = FutureModel.history_of(series, uid)
    future = FutureModel(future_model, meta, future_norm, freq, column, steps, tuple(levels), half,
                         evaluate.interval_window, floor, evaluate.interval_method, history)
    volatility = float(local_scale(values, np.array([n]), evaluate.interval_window, floor)[0])
    return future, Honesty({lv: c["coverage"] for lv, c in checks.items()}, len(cal.origins), volatility, seconds,
                           {lv: c["msis"] for lv, c in checks.items()}, {lv: c["pinball"] for lv, c in checks.items()})


def summaries(values: np.ndarray, times: pd.Series | None, future: FutureModel, honesty: Honesty,
              recent: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """The forecast stage's other outputs: the last ``recent`` observed values (for the figure and its plot), the
    bands' test coverage, interval score and pinball loss per step, and the metrics (their means and the width
    per level)."""
    n, recent = len(values), min(len(values), recent)
    history = pd.DataFrame({"step": np.arange(1 - recent, 1), "actual": values[n - recent:]})
    if times is not None and future.freq is not None:
        history.insert(0, "time", stamp_text(pd.DatetimeIndex(times.iloc[n - recent:])))
    checks = {"coverage": honesty.coverage, "msis": honesty.msis, "pinball": honesty.pinball}
    by_step = pd.DataFrame({"step": np.arange(1, future.steps + 1)}
                           | {f"{name}_{level_name(lv)}": per[lv] for name, per in checks.items() for lv in future.levels})
    results = {f"test_band{level_name(lv)}_{name}": float(per[lv].mean())
               for name, per in checks.items() for lv in future.levels}
    results |= {f"band{level_name(lv)}_width": float(2 * future.bands[lv].mean() * honesty.volatility)
                for lv in future.levels}
    return history, by_step, results
