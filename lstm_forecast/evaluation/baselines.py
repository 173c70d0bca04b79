"""The baselines every model is scored against, from the same origins: persistence, seasonal naive and a
linear autoregression. A forecast from origin ``t`` reads ``values[:t]`` only."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.linear_model import Ridge

from lstm_forecast.data.artifacts import Span
from lstm_forecast.errors import ArgumentError


def persistence(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Every step forecast as the last observed value, ``values[t - 1]``: (n, H)."""
    return np.repeat(values[origins - 1][:, None], horizon, axis=1)


def seasonal_naive(values: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Step h (0-based) forecast as the value one season before it, ``values[t + h - season]``: (n, H)."""
    if horizon > season:
        # Step h = season would be the value at t itself: not yet observed at the origin.
        raise ArgumentError("season", season, f"shorter than the horizon {horizon}: the seasonal naive forecast "
                            "would read values after its origin; use a season >= horizon")
    return values[origins[:, None] + np.arange(horizon) - season]


def fit_linear(z: np.ndarray, train_origins: Span, time_step: int, horizon: int, alpha: float) -> Ridge:
    """Ridge regression of the next ``horizon`` values on the last ``time_step`` values (scaled series),
    fitted on the training windows only (every input and target inside the training span)."""
    lo, hi = train_origins
    rows = sliding_window_view(z, time_step + horizon)[lo - time_step : hi - time_step]  # a view
    return Ridge(alpha=alpha).fit(rows[:, :time_step], rows[:, time_step:])


def linear_forecast(model: Ridge, z: np.ndarray, origins: np.ndarray, time_step: int) -> np.ndarray:
    """The linear model's forecasts from each origin, scaled: (n, H)."""
    lags = sliding_window_view(z, time_step)[origins - time_step]  # rows z[t - T : t]
    return model.predict(lags).reshape(len(origins), -1)
