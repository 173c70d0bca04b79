"""Split-conformal prediction intervals, scaled by each origin's recent volatility."""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lstm_forecast.errors import ArgumentError


def local_scale(values: np.ndarray, origins: np.ndarray, window: int, floor: float) -> np.ndarray:
    """Recent volatility at each origin: the mean absolute one-step change over the ``window`` changes before
    ``t`` (values ``t - window - 1 .. t - 1``), at least ``floor``; all ones when ``window`` is 0. (n,)"""
    if window == 0:
        return np.ones(len(origins))
    if origins.min() < window + 1:
        raise ArgumentError("window", window, f"reaches before the start of the series at origin {origins.min()}")
    changes = np.abs(np.diff(sliding_window_view(values, window + 1)[origins - window - 1], axis=1))
    return np.maximum(changes.mean(axis=1), floor)


def conformal_quantile(residuals: np.ndarray, level: float) -> np.ndarray:
    """Split-conformal half-widths, per column: the k-th smallest absolute residual with
    k = ceil((n + 1) * level), the finite-sample correction that gives coverage >= level. (H,)"""
    n = residuals.shape[0]
    k = math.ceil((n + 1) * level)
    if k > n:
        raise ArgumentError("level", level, f"needs at least {k} calibration forecasts, the calibration span "
                            f"gives {n}")
    return np.sort(np.abs(residuals), axis=0)[k - 1]
