"""Rolling-origin backtests: every model forecasts H steps from the same origins of the validation and test
spans, in original units. A forecast from origin ``t`` reads ``values[:t]`` only."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from lstm_forecast.data.artifacts import Normalization, WindowIndex
from lstm_forecast.evaluation.baselines import fit_linear, linear_forecast, persistence, seasonal_naive
from lstm_forecast.errors import ArgumentError
from lstm_forecast.model.forecasting import forecast, to_levels
from lstm_forecast.evaluation.intervals import local_scale, volatility_floor
from lstm_forecast.model.network import Ensemble
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.evaluation.statistical import STATISTICAL, fit_statistical, statistical_forecast
from lstm_forecast.prep.windows import split_windows

SCORED_SPLITS = ("val", "test")


def future_values(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """``values[t : t + horizon]`` for each origin ``t``: (n, H)."""
    return values[origins[:, None] + np.arange(horizon)]


def baseline_forecasters(values: np.ndarray, z: np.ndarray, norm: Normalization, index: WindowIndex,
                         evaluate: EvaluateParams) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """For each of ``evaluate.baselines``, in that order, the function from origins (n,) to its forecasts
    (n, H) in original units; models with parameters are fitted here, on the training span only."""
    time_step, horizon = index.time_step, index.horizon
    train_lo, train_hi = norm.splits["train"]
    makers = {
        "persistence": lambda: lambda o: persistence(values, o, horizon),
        "seasonal_naive": lambda: lambda o: seasonal_naive(values, o, horizon, evaluate.season),
    }

    def linear():
        fitted = fit_linear(z, index.origins["train"], time_step, horizon, evaluate.ridge_alpha)
        return lambda o: to_levels(norm.scaler.inverse(linear_forecast(fitted, z, o, time_step)), values, o,
                                   norm.difference)

    def statistical(name: str):
        fitted = fit_statistical(name, values[train_lo:train_hi], evaluate.season)
        return lambda o: statistical_forecast(fitted, values, o, horizon)

    makers["linear"] = linear
    makers |= {name: (lambda name=name: statistical(name)) for name in STATISTICAL}
    return {name: makers[name]() for name in evaluate.baselines}


def backtest(values: np.ndarray, z: np.ndarray, norm: Normalization, index: WindowIndex, model: Ensemble,
             strategy: str, evaluate: EvaluateParams, scale: float, device: torch.device | None = None,
             features: torch.Tensor | None = None) -> dict[str, dict]:
    """Per scored split: origins, actual values and every model's forecasts, (n, H), in original units,
    and each origin's recent volatility (for the interval). ``z`` is the scaled modelled series, ``features``
    its calendar inputs (lstm_forecast.prep.windows.series_tensors)."""
    horizon = index.horizon
    evaluate, _ = evaluate.resolve_stride(index.origins)  # the stages resolve it first and log it
    first = min(index.origins[s][0] for s in SCORED_SPLITS)
    if evaluate.season > first:
        raise ArgumentError("season", evaluate.season, f"reaches before the start of the series: the first scored "
                            f"origin is {first}; use a season <= {first}")
    baselines = baseline_forecasters(values, z, norm, index, evaluate)
    series = torch.tensor(z, dtype=torch.float32, device=device)
    features = None if features is None else features.to(device)
    model = model.to(device)
    out = {}
    for split in SCORED_SPLITS:
        windows = split_windows(series, features, index, split, "last", horizon, evaluate.stride)
        origins = windows.origins.cpu().numpy()
        lstm = forecast(model, windows, horizon, strategy).double().cpu().numpy()
        out[split] = {
            "origins": origins,
            "volatility": local_scale(values, origins, evaluate.interval_window, volatility_floor(scale)),
            "actual": future_values(values, origins, horizon),
            "forecasts": {"lstm": to_levels(norm.scaler.inverse(lstm), values, origins, norm.difference)}
            | {name: forecaster(origins) for name, forecaster in baselines.items()},
        }
    return out
