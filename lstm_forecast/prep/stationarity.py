"""Whether to model a series' one-step changes instead of its levels: the KPSS test of level stationarity on
the training span, as R's ``forecast::ndiffs`` (and auto.arima) use it to choose the order of differencing."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

# Level stationarity is rejected below this p-value: the levels wander, so model their changes.
KPSS_ALPHA = 0.05


@dataclass(frozen=True)
class DifferenceTest:
    """The KPSS test on the training span's levels, and the choice it led to."""

    statistic: float
    p_value: float  # interpolated in KPSS's table, so clipped to [0.01, 0.1]
    lags: int
    difference: bool

    def to_json(self) -> dict[str, Any]:
        return {"test": "kpss", "statistic": self.statistic, "p_value": self.p_value, "lags": self.lags,
                "alpha": KPSS_ALPHA, "difference": self.difference}


def kpss_lags(n: int) -> int:
    """The short bandwidth ndiffs uses: floor(3 sqrt(n) / 13)."""
    return math.floor(3 * math.sqrt(n) / 13)


def choose_difference(train: np.ndarray) -> DifferenceTest:
    """Difference when KPSS rejects level stationarity of ``train`` (levels of the training span) at
    KPSS_ALPHA. A constant span is stationary."""
    from statsmodels.tsa.stattools import kpss  # imported here: slow to import

    train = np.asarray(train, dtype=np.float64)
    lags = kpss_lags(len(train))
    if np.ptp(train) == 0:
        return DifferenceTest(0.0, 0.1, lags, False)
    with warnings.catch_warnings():
        # statsmodels warns when the statistic falls outside its p-value table; the p-value is then the bound.
        warnings.simplefilter("ignore")
        statistic, p_value, _, _ = kpss(train, regression="c", nlags=lags)
    return DifferenceTest(float(statistic), float(p_value), lags, bool(p_value < KPSS_ALPHA))
