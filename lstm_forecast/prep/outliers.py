"""Outliers: values of the modelled series (the levels, or their one-step changes) far outside the robust
spread of its training span, named in the log and, where the user asks, clipped for the model.

The rule is the median plus or minus OUTLIER_MADS scaled median absolute deviations (MAD x 1.4826, the
standard deviation of normal data) of the training span: it ignores the outliers it looks for, which a mean
and a standard deviation would not. Twenty-five is far outside anything the twelve-series panel holds (its
largest, a10's growing seasonal swing, reaches 18; docs/outliers.md), and far inside what a typing error
makes (a value with three zeros too many is thousands).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OUTLIER_MADS = 25.0
# The MAD of normal data times this is its standard deviation.
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Outliers:
    """The bounds of the rule (None where the training span has no spread: a constant span) and the positions
    of the values outside them, over the whole series."""

    bounds: tuple[float, float] | None
    positions: np.ndarray


def find_outliers(modelled: np.ndarray, train: tuple[int, int]) -> Outliers:
    """Values of ``modelled`` outside median +- OUTLIER_MADS robust deviations of ``modelled[train[0]:train[1]]``."""
    span = modelled[train[0] : train[1]]
    centre = float(np.median(span))
    spread = MAD_TO_SD * float(np.median(np.abs(span - centre)))
    if not spread > 0:
        return Outliers(None, np.array([], dtype=np.int64))
    bounds = (centre - OUTLIER_MADS * spread, centre + OUTLIER_MADS * spread)
    return Outliers(bounds, np.flatnonzero((modelled < bounds[0]) | (modelled > bounds[1])))


def calm_levels(levels: np.ndarray) -> np.ndarray:
    """``levels`` with each spike replaced by the mean of its neighbours: a value whose change in and change
    out are both outliers of the one-step changes (lstm_forecast.prep.outliers' rule), in opposite directions; a
    last value whose change in is one, by the value before it. What the stationarity test reads under
    ``clip``: one typing error of 1e6 would make any series look level-stationary, and the choice to model
    changes would go with it. A lone outlying change (a level shift) is left as it is."""
    changes = np.diff(levels)
    found = find_outliers(changes, (0, len(changes)))
    flagged = set(found.positions.tolist())
    calm = levels.copy()
    for i in sorted(flagged):
        t = i + 1  # change i goes into levels[t]
        if t == len(levels) - 1:
            calm[t] = calm[t - 1]
        elif i + 1 in flagged and np.sign(changes[i]) != np.sign(changes[i + 1]):
            calm[t] = (levels[t - 1] + levels[t + 1]) / 2
    return calm
