"""Is one forecast really better than another on the same origins? The Diebold-Mariano test, with the
Harvey-Leybourne-Newbold small-sample correction.

For losses ``a`` and ``b`` at the same n origins, d = a - b. Forecasts h steps ahead from consecutive
origins overlap, so d is autocorrelated up to lag h - 1: its long-run variance is
gamma_0 + 2 (gamma_1 + ... + gamma_{h-1}), the autocovariances taken about the mean with divisor n.
DM = mean(d) / sqrt(variance / n). Harvey, Leybourne and Newbold (1997) scale it by
sqrt((n + 1 - 2h + h (h - 1) / n) / n) and compare it with Student's t on n - 1 degrees of freedom.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from lstm_forecast.errors import ArgumentError


@dataclass(frozen=True)
class DMResult:
    statistic: float  # HLN-corrected; negative: the first forecast has the smaller loss
    p_value: float  # two-sided
    mean_difference: float


def long_run_variance(d: np.ndarray, h: int) -> float:
    """gamma_0 + 2 sum_{k=1}^{h-1} gamma_k of ``d`` (may be 0 or negative for h > 1 on short or odd series)."""
    n = len(d)
    centred = d - d.mean()
    gammas = [float(centred[k:] @ centred[: n - k]) / n for k in range(min(h, n))]
    return gammas[0] + 2 * sum(gammas[1:])


def diebold_mariano(loss_a: np.ndarray, loss_b: np.ndarray, h: int = 1) -> DMResult:
    """Two-sided test that forecasts a and b have equal expected loss, from their losses at the same
    origins (n,); ``h`` the forecast horizon, which sets how far the differences are autocorrelated."""
    d = np.asarray(loss_a, dtype=np.float64) - np.asarray(loss_b, dtype=np.float64)
    n = len(d)
    if h < 1:
        raise ArgumentError("h", h, "should be >= 1")
    if n < 2:
        raise ArgumentError("loss_a", f"{n} losses", "the test needs at least 2 origins")
    mean = float(d.mean())
    variance = long_run_variance(d, h)
    if n + 1 - 2 * h + h * (h - 1) / n <= 0:
        raise ArgumentError("h", h, f"is too long for {n} origins: the small-sample correction is undefined")
    if variance <= 0 and h > 1:
        return diebold_mariano(loss_a, loss_b, 1)  # as R's forecast::dm.test: the whole test again at h = 1
    if variance <= 0:
        # Every difference the same: equal forecasts (p = 1), or one better at every origin by the same amount.
        return DMResult(0.0 if mean == 0 else math.copysign(math.inf, mean), 1.0 if mean == 0 else 0.0, mean)
    dm = mean / math.sqrt(variance / n)
    correction = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    statistic = dm * correction
    p_value = float(2 * stats.t.sf(abs(statistic), df=n - 1))
    return DMResult(statistic, p_value, mean)
