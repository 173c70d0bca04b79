"""Conformal prediction intervals, scaled by each origin's recent volatility: split conformal, calibrated once
on validation, and adaptive conformal, which keeps recalibrating on the test errors already observed."""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lstm_forecast.errors import ArgumentError


# The least recent volatility an interval is scaled by, as a share of MASE's scale (the training span's mean
# absolute one-step change): a calm stretch (a run of zeros) never gives an interval of width 0.
FLOOR_SHARE = 0.1


def volatility_floor(scale: float) -> float:
    """The floor of ``local_scale`` for a series whose MASE scale is ``scale``: evaluate's and forecast's."""
    return FLOOR_SHARE * scale


def local_scale(values: np.ndarray, origins: np.ndarray, window: int, floor: float) -> np.ndarray:
    """Recent volatility at each origin: the mean absolute one-step change over the ``window`` changes before
    ``t`` (values ``t - window - 1 .. t - 1``), at least ``floor``; all ones when ``window`` is 0. (n,)"""
    if window == 0:
        return np.ones(len(origins))
    if origins.min() < window + 1:
        raise ArgumentError("window", window, f"reaches before the start of the series at origin {origins.min()}")
    changes = np.abs(np.diff(sliding_window_view(values, window + 1)[origins - window - 1], axis=1))
    return np.maximum(changes.mean(axis=1), floor)


def conformal_rank(n: int, level: float) -> int:
    """k = ceil((n + 1) * level): the k-th smallest of n exchangeable scores is at least a new one's with
    probability >= level (the finite-sample correction of split conformal)."""
    return math.ceil((n + 1) * level)


def conformal_quantile(residuals: np.ndarray, level: float) -> np.ndarray:
    """Split-conformal half-widths, per column: the k-th smallest absolute residual, k = conformal_rank. (H,)"""
    n = residuals.shape[0]
    k = conformal_rank(n, level)
    if k > n:
        raise ArgumentError("level", level, f"needs at least {k} calibration forecasts, the calibration span "
                            f"gives {n}")
    return np.sort(np.abs(residuals), axis=0)[k - 1]


def ranked_score(pool: list[float], level: float) -> float:
    """The k-th smallest of the sorted scores ``pool``, k = conformal_rank, for any ``level``. A rank past the
    last score (level > n / (n + 1): alpha <= 0 among others) asks for an infinite interval; the largest
    score stands in for it, since the metrics file takes no infinity. A rank below 1 (level <= 0, alpha >= 1)
    is the empty interval: 0."""
    k = conformal_rank(len(pool), level)
    if k > len(pool):
        return pool[-1]
    return pool[k - 1] if k >= 1 else 0.0


def adaptive_step(cal: np.ndarray, scores: np.ndarray, origins: np.ndarray, step: int, level: float,
                  gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive conformal half-widths of step ``step`` (1-based) in score units, and the alpha_t that set
    each: (n,), (n,). ``cal`` holds the calibration scores; ``scores`` those of the forecasts from ``origins``
    (increasing), each read only once its value is observed.

    Gibbs and Candes (2021): alpha_{t+1} = alpha_t + gamma (alpha - err_t), alpha = 1 - level, err_t = 1
    where the score exceeded its half-width; the half-width is ranked_score at 1 - alpha_t over the
    calibration scores and the test scores observed so far, so the score set follows a drift too."""
    # The forecast from origin t is the value at t + step - 1, observed from origin t + step on: at origin s,
    # those from origins t <= s - step. Reading any later one would be looking ahead.
    known = np.searchsorted(origins, origins - step, side="right")  # (n,), never more than the origin's index
    pool = sorted(cal.tolist())
    half, alphas = np.empty(len(scores)), np.empty(len(scores))
    alpha, target = 1 - level, level  # target is 1 - alpha_t, exactly ``level`` until an error is observed
    seen = 0
    for i, now_known in enumerate(known):
        for k in range(seen, now_known):
            err = float(scores[k] > half[k])
            target -= gamma * (alpha - err)
            bisect.insort(pool, float(scores[k]))
        seen = max(seen, now_known)
        half[i], alphas[i] = ranked_score(pool, target), 1 - target
    return half, alphas


def adaptive_half_widths(cal_scores: np.ndarray, test_scores: np.ndarray, origins: np.ndarray, level: float,
                         gamma: float) -> np.ndarray:
    """Adaptive conformal half-widths of the forecasts from ``origins`` (n,), in score units, with one alpha
    per step (see adaptive_step). cal_scores: (m, H), test_scores: (n, H) -> (n, H)."""
    return Calibrator("adaptive", gamma).steps(cal_scores, test_scores, origins, level)


@dataclass(frozen=True)
class Calibrator:
    """Conformal half-widths in score units, one method for evaluate's intervals and the forecast stage's bands:
    ``split``, the conformal quantile of the calibration scores; ``adaptive``, adaptive conformal inference
    with step size ``gamma``, updated on each score once its value is observed (``adaptive_step``)."""

    method: str
    gamma: float = 0.0

    def along(self, cal: np.ndarray, scores: np.ndarray, origins: np.ndarray, step: int, level: float) -> np.ndarray:
        """Half-widths of step ``step``'s forecasts from ``origins`` (n,), whose scores are ``scores`` (n,),
        calibrated on ``cal`` (m,). (n,)"""
        if self.method == "split":
            return np.full(len(scores), conformal_quantile(cal[:, None], level)[0])
        if self.method == "adaptive":
            return adaptive_step(cal, scores, origins, step, level, self.gamma)[0]
        raise ValueError(f"method={self.method!r}: should be 'split' or 'adaptive'")  # params allow only these

    def steps(self, cal: np.ndarray, scores: np.ndarray, origins: np.ndarray, level: float) -> np.ndarray:
        """``along`` for every step: cal (m, H), scores (n, H) -> (n, H)."""
        return np.stack([self.along(cal[:, h], scores[:, h], origins, h + 1, level) for h in range(cal.shape[1])],
                        axis=1)

    def after(self, cal: np.ndarray, scores: np.ndarray, origins: np.ndarray, end: int, step: int, level: float,
              pool: np.ndarray) -> float:
        """The half-width of step ``step`` of a forecast from ``end``, after every score: ``split``, the conformal
        quantile of ``pool`` (every observed score); ``adaptive``, calibrated on ``cal`` and carried through
        ``scores`` from ``origins``."""
        if self.method == "split":
            return float(conformal_quantile(pool[:, None], level)[0])
        return float(self.along(cal, np.append(scores, 0.0), np.append(origins, end), step, level)[-1])
