"""Rolling-origin forecasts of H steps from the same origins for every model, and split-conformal intervals.

An origin is named by ``t``, the first index it forecasts: a forecast from ``t`` may read ``z[:t]`` only.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.linear_model import Ridge

from pipeline.errors import UserError


def future_values(values: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
    """``values[t : t + horizon]`` for each origin ``t``: (n, H)."""
    return values[starts[:, None] + np.arange(horizon)]


def persistence(values: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
    """Every step forecast as the last observed value, ``values[t - 1]``: (n, H)."""
    return np.repeat(values[starts - 1][:, None], horizon, axis=1)


def seasonal_naive(values: np.ndarray, starts: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Step h (0-based) forecast as the value one season before it, ``values[t + h - season]``: (n, H)."""
    if horizon > season:
        # Step h = season would be the value at t itself: not yet observed at the origin.
        raise UserError(f"window.horizon={horizon} is longer than evaluate.season={season}: the seasonal naive "
                        "forecast would read values after its origin; use a season >= horizon")
    return values[starts[:, None] + np.arange(horizon) - season]


def fit_linear(z: np.ndarray, train_ends: tuple[int, int], time_step: int, horizon: int, alpha: float) -> Ridge:
    """Ridge regression of the next ``horizon`` values on the last ``time_step`` values (scaled series),
    fitted on the training windows only (every input and target inside the training span)."""
    lo, hi = train_ends
    rows = sliding_window_view(z, time_step + horizon)[lo - time_step : hi - time_step]  # a view
    return Ridge(alpha=alpha).fit(rows[:, :time_step], rows[:, time_step:])


def linear_forecast(model: Ridge, z: np.ndarray, starts: np.ndarray, time_step: int) -> np.ndarray:
    """The linear model's forecasts from each origin, scaled: (n, H)."""
    lags = sliding_window_view(z, time_step)[starts - time_step]  # rows z[t - T : t]
    return model.predict(lags).reshape(len(starts), -1)


def to_levels(modelled: np.ndarray, values: np.ndarray, starts: np.ndarray, difference: bool) -> np.ndarray:
    """Forecasts of the modelled series (unscaled), (n, H), as levels: with differencing, the forecast
    changes are summed onto the last observed value ``values[t - 1]``."""
    if not difference:
        return modelled
    return values[starts - 1][:, None] + np.cumsum(modelled, axis=1)


def local_scale(values: np.ndarray, starts: np.ndarray, window: int, floor: float) -> np.ndarray:
    """Recent volatility at each origin: the mean absolute one-step change over the ``window`` changes before
    ``t`` (values ``t - window - 1 .. t - 1``), at least ``floor``; all ones when ``window`` is 0. (n,)"""
    if window == 0:
        return np.ones(len(starts))
    if starts.min() < window + 1:
        raise UserError(f"evaluate.interval_window={window} reaches before the start of the series at t={starts.min()}")
    changes = np.abs(np.diff(sliding_window_view(values, window + 1)[starts - window - 1], axis=1))
    return np.maximum(changes.mean(axis=1), floor)


def conformal_quantile(residuals: np.ndarray, level: float) -> np.ndarray:
    """Split-conformal half-widths, per column: the k-th smallest absolute residual with
    k = ceil((n + 1) * level), the finite-sample correction that gives coverage >= level. (H,)"""
    n = residuals.shape[0]
    k = math.ceil((n + 1) * level)
    if k > n:
        raise UserError(
            f"evaluate.interval={level} needs at least {k} calibration forecasts, the validation span gives {n}; "
            "lower evaluate.interval or evaluate.stride"
        )
    return np.sort(np.abs(residuals), axis=0)[k - 1]
