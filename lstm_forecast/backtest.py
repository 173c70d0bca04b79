"""Rolling-origin backtests: every model forecasts H steps from the same origins of the validation and test
spans, in original units. A forecast from origin ``t`` reads ``values[:t]`` only."""
from __future__ import annotations

import numpy as np
import torch

from lstm_forecast.artifacts import Normalization, WindowIndex
from lstm_forecast.baselines import fit_linear, linear_forecast, persistence, seasonal_naive
from lstm_forecast.errors import ArgumentError
from lstm_forecast.forecasting import forecast, to_levels
from lstm_forecast.intervals import local_scale
from lstm_forecast.network import LSTMForecaster
from lstm_forecast.windows import Windows

SCORED_SPLITS = ("val", "test")


def future_values(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """``values[t : t + horizon]`` for each origin ``t``: (n, H)."""
    return values[origins[:, None] + np.arange(horizon)]


def backtest(values: np.ndarray, z: np.ndarray, norm: Normalization, index: WindowIndex, model: LSTMForecaster,
             strategy: str, *, season: int, stride: int, interval_window: int, ridge_alpha: float, scale: float,
             device: torch.device | None = None) -> dict[str, dict]:
    """Per scored split: origins, actual values and every model's forecasts, (n, H), in original units,
    and each origin's recent volatility (for the interval). ``z`` is the scaled modelled series."""
    time_step, horizon = index.time_step, index.horizon
    first = min(index.origins[s][0] for s in SCORED_SPLITS)
    if season > first:
        raise ArgumentError("season", season, f"reaches before the start of the series: the first scored origin "
                            f"is {first}; use a season <= {first}")
    linear = fit_linear(z, index.origins["train"], time_step, horizon, ridge_alpha)
    series = torch.tensor(z, dtype=torch.float32, device=device)
    model = model.to(device)

    def levels(modelled: np.ndarray, origins: np.ndarray) -> np.ndarray:
        return to_levels(norm.scaler.inverse(modelled), values, origins, norm.difference)

    out = {}
    for split in SCORED_SPLITS:
        windows = Windows(series, index.origins[split], time_step, "last", horizon, stride)
        origins = windows.origins.cpu().numpy()
        out[split] = {
            "origins": origins,
            # The floor keeps a calm stretch (a run of zeros) from giving a zero-width interval.
            "volatility": local_scale(values, origins, interval_window, 0.1 * scale),
            "actual": future_values(values, origins, horizon),
            "forecasts": {
                "lstm": levels(forecast(model, windows, horizon, strategy).double().cpu().numpy(), origins),
                "persistence": persistence(values, origins, horizon),
                "seasonal_naive": seasonal_naive(values, origins, horizon, season),
                "linear": levels(linear_forecast(linear, z, origins, time_step), origins),
            },
        }
    return out
