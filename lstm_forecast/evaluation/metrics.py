"""Forecast error metrics, in original units."""
from __future__ import annotations

import numpy as np

METRICS = ("rmse", "mae", "smape", "mase")


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - predicted)))


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in percent, 0..200. A point where both actual and prediction are 0 counts as no error
    (the shipped series has months of exactly 0, where plain MAPE is undefined)."""
    denom = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(2.0 * np.abs(actual - predicted), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * np.mean(ratio))


def naive_scale(train: np.ndarray) -> float:
    """In-sample MAE of the one-step naive forecast on the training span: MASE's denominator."""
    return float(np.mean(np.abs(np.diff(train))))


def mase(actual: np.ndarray, predicted: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error: below 1 beats the one-step naive forecast's in-sample error. ``scale`` is 0
    only for a constant training span, which normalize refuses, so reaching it here is a bug (a ValueError
    with its traceback, not an ArgumentError turned into a params key's message)."""
    if not scale > 0:
        raise ValueError(f"scale={scale!r}: should be > 0, the mean absolute one-step change of a training span "
                         "that is not constant; MASE is undefined without it")
    return mae(actual, predicted) / scale


def score(actual: np.ndarray, predicted: np.ndarray, scale: float) -> dict[str, float]:
    return {
        "rmse": rmse(actual, predicted),
        "mae": mae(actual, predicted),
        "smape": smape(actual, predicted),
        "mase": mase(actual, predicted, scale),
    }


def interval_score(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float,
                   scale: float) -> np.ndarray:
    """The interval score of each band (Winkler's; the M4 competition's MSIS once averaged), divided by
    MASE's ``scale``: the band's width, plus 2 / (1 - level) times the distance by which a value falls outside
    it. A band is rewarded for being narrow and punished for each miss, so a band that is merely wide scores
    badly, and so does a narrow one that misses. Elementwise."""
    alpha = 1.0 - level
    below = np.maximum(lower - actual, 0.0)
    above = np.maximum(actual - upper, 0.0)
    return ((upper - lower) + (2.0 / alpha) * (below + above)) / scale


def pinball(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float, scale: float) -> np.ndarray:
    """The pinball (quantile) loss of the band's edges, read as the quantiles (1 - level) / 2 and
    (1 + level) / 2, averaged over the two edges and divided by MASE's ``scale``. Elementwise."""
    def loss(quantile: np.ndarray, tau: float) -> np.ndarray:
        diff = actual - quantile
        return np.maximum(tau * diff, (tau - 1.0) * diff)
    return (loss(lower, (1.0 - level) / 2) + loss(upper, (1.0 + level) / 2)) / (2.0 * scale)
