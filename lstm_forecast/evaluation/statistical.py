"""The statistical models forecasters judge a new one by: AutoETS, AutoARIMA and AutoTheta (statsforecast),
each fitted once on the training span, in original units, and applied at every origin without refitting
(statsforecast's ``forward``: the fitted model run over the history up to the origin). ETS keeps its
parameters and initial states, ARIMA its coefficients; Theta keeps its parameters but redoes its seasonal
test and decomposition on the history at each origin (still reading nothing after it)."""
from __future__ import annotations

import importlib
import logging
import time

import numpy as np

from lstm_forecast.errors import ArgumentError
from lstm_forecast.model.progress import PROGRESS_SECONDS

log = logging.getLogger(__name__)

STATISTICAL = ("auto_ets", "auto_arima", "auto_theta")
# The longest season each model is given. ETS: statsforecast keeps at most 24 seasonal states. ARIMA: a cost
# limit measured here, not the library's: a seasonal AutoARIMA fit at season 52 took 284 s on 950 weekly
# values, and at season 132 none finished in 10 minutes (docs/performance.md).
MAX_SEASON = {"auto_ets": 24, "auto_arima": 24, "auto_theta": None}
# The shortest training span each model fits (statsforecast refuses "tiny datasets" below these).
MIN_VALUES = {"auto_ets": 8, "auto_arima": 3, "auto_theta": 4}
# The most recent values each model is fitted on and reads at each origin: a fit and a forward pass cost time
# in proportion to the history, so a long series (200,000 five-minute values) would take hours; this many
# is far more than exponential smoothing, an ARIMA filter or Theta's decomposition need to settle.
HISTORY = 3000


def usable_season(name: str, season: int, train_length: int) -> tuple[int, str]:
    """The season ``name`` is fitted with (1: none), and why it is not ``season`` ('' when it is)."""
    if season <= 1:
        return 1, ""
    limit = MAX_SEASON[name]
    if limit is not None and season > limit:
        return 1, f"the season {season} is longer than the {limit} it allows"
    if train_length < 2 * season:
        return 1, f"the training span ({train_length} values) holds fewer than two seasons of {season}"
    return season, ""


def preload() -> None:
    """Import statsforecast's models now (over a second): in the stage, before its workers are forked, so that
    each of them starts its first fit at once instead of importing them again."""
    importlib.import_module("statsforecast.models")


def fit_statistical(name: str, train: np.ndarray, season: int):
    """``name`` (one of STATISTICAL) fitted on the training span ``train`` (levels, original units)."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta  # imported here: slow to import

    if len(train) < MIN_VALUES[name]:
        raise ArgumentError("baselines", name, f"needs at least {MIN_VALUES[name]} training values, the training "
                            f"span has {len(train)}; leave it out or give the series more rows")
    if len(train) > HISTORY:
        log.info("%s is fitted on the last %d of the %d training values", name, HISTORY, len(train))
        train = train[-HISTORY:]
    used, why = usable_season(name, season, len(train))
    if why:
        log.info("%s runs without a season: %s", name, why)
    model = {"auto_ets": AutoETS, "auto_arima": AutoARIMA, "auto_theta": AutoTheta}[name](season_length=used)
    return model.fit(np.ascontiguousarray(train, dtype=np.float64))


def statistical_forecast(model, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The fitted model's forecasts of the ``horizon`` values from each origin, reading the last HISTORY
    values before it, ``values[t - HISTORY : t]``, only: (n, H), original units."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    out, started = [], time.perf_counter()
    last = started
    for i, t in enumerate(origins, start=1):
        out.append(model.forward(values[max(0, t - HISTORY):t], h=horizon)["mean"])
        now = time.perf_counter()
        if now - last >= PROGRESS_SECONDS and i < len(origins):
            last = now
            log.info("%s: %d of %d origins, about %.0f s left", type(model).__name__, i, len(origins),
                     (now - started) / i * (len(origins) - i))
    return np.stack(out)
