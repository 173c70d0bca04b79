"""Chronological splits of a series, its scaling fitted on the training span only, and the origins of the
windows each split trains or is scored on."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from lstm_forecast.data.artifacts import Normalization, Span, modelled_series
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.prep.outliers import Outliers, calm_levels, find_outliers
from lstm_forecast.prep.scaling import Scaler, fit_scaler
from lstm_forecast.prep.stationarity import choose_difference


def split_bounds(n: int, fractions: tuple[float, float, float]) -> dict[str, Span]:
    """Chronological [start, stop) bounds of each split from the train and val ``fractions``; test takes the
    remainder."""
    # The epsilon absorbs float error: 2820 * 0.7 is 1973.9999999999998, which is 1974 values.
    n_train = math.floor(n * fractions[0] + 1e-9)
    n_val = math.floor(n * fractions[1] + 1e-9)
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, n)}
    sizes = {k: b - a for k, (a, b) in bounds.items()}
    if min(sizes.values()) < 1:
        raise UserError(
            f"series of {n} values is too short for the splits "
            f"train/val/test = {sizes['train']}/{sizes['val']}/{sizes['test']}; every split needs at least 1 value"
        )
    return bounds


def fold_splits(n: int, fractions: tuple[float, float, float], folds: int) -> list[tuple[int, dict[str, Span]]]:
    """Expanding-window folds, oldest first: (length, splits) each, where the fold uses the first ``length``
    values. Test spans are as long as today's, consecutive, disjoint, and end at the end of the series;
    validation is as long as today's and ends where test begins; training takes everything before. The
    last fold is today's split of the whole series."""
    return fold_bounds(n, split_bounds(n, fractions), folds)


def fold_bounds(n: int, today: dict[str, Span], folds: int) -> list[tuple[int, dict[str, Span]]]:
    """``fold_splits`` from today's split bounds ``today`` of the ``n`` values."""
    val, test = today["val"][1] - today["val"][0], today["test"][1] - today["test"][0]
    plans = []
    for back in range(folds - 1, -1, -1):
        end = n - back * test
        start = end - test - val
        if start < 2:
            raise ArgumentError("folds", folds, f"fold {folds - back} of {folds} would leave {max(start, 0)} training "
                                f"values (series of {n}, validation {val} and test {test} values per fold)")
        plans.append((end, {"train": (0, start), "val": (start, end - test), "test": (end - test, end)}))
    return plans


def normalize_series(series: pd.DataFrame, fractions: tuple[float, float, float], method: str,
                     difference: bool | str, outliers: str = "keep") -> tuple[pd.DataFrame, Normalization]:
    """The series with ``scaled`` and ``split`` columns, and the scaler and split bounds to save."""
    return scale_series(series, split_bounds(len(series), fractions), method, difference, outliers)


def scale_series(series: pd.DataFrame, bounds: dict[str, Span], method: str, difference: bool | str,
                 outliers: str = "keep") -> tuple[pd.DataFrame, Normalization]:
    """``series`` split at ``bounds``, scaled with statistics of its training span only.

    ``difference``: model the one-step changes y[t] - y[t-1] instead of the levels; the first point has no
    change and is modelled as 0. ``"auto"``: difference when the KPSS test rejects level stationarity of the
    training span. ``outliers``: ``clip`` clips the modelled series to the bounds of lstm_forecast.prep.outliers
    (from the training span) before the scaler is fitted and applied; ``keep`` leaves it as it is."""
    return scale_and_flag(series, bounds, method, difference, outliers)[:2]


def scale_and_flag(series: pd.DataFrame, bounds: dict[str, Span], method: str, difference: bool | str,
                   outliers: str = "keep") -> tuple[pd.DataFrame, Normalization, Outliers]:
    """``scale_series``, and the outliers found (whichever ``outliers`` policy)."""
    values = series["value"].to_numpy(dtype=np.float64)
    test = None
    train_lo, train_hi = bounds["train"]
    if difference == "auto":
        span = values[train_lo:train_hi]
        test = choose_difference(calm_levels(span) if outliers == "clip" else span)
        difference = test.difference
    # With differencing, the training span's changes leave out the artificial first one.
    found = find_outliers(modelled_series(values, difference), (train_lo + int(difference), train_hi))
    clip = found.bounds if outliers == "clip" else None
    norm = Normalization(len(values), bounds, Scaler("zscore", 0.0, 1.0), difference,
                         test.to_json() if test else None, clip)
    modelled = norm.modelled(values)
    # Fit on the training span only; with differencing, without the artificial first change.
    scaler = fit_scaler(modelled[train_lo + int(difference) : train_hi], method)
    norm = dataclasses.replace(norm, scaler=scaler)
    out = series.copy()
    out["scaled"] = scaler.transform(modelled)
    labels = np.empty(len(values), dtype=object)
    for name, (a, b) in bounds.items():
        labels[a:b] = name
    out["split"] = labels
    return out, norm, found


def window_origins(length: int, splits: dict[str, Span], time_step: int, horizon: int = 1) -> dict[str, Span]:
    """[first, stop) of the origins whose windows each split trains or is scored on.

    A window belongs to the split that holds all its future values; its inputs may reach back into earlier
    splits (values known at forecast time), so only the first split loses its first ``time_step`` points,
    and every split loses its last ``horizon - 1``.
    """
    origins = {name: (max(a, time_step), b - horizon + 1) for name, (a, b) in splits.items()}
    empty = [name for name, (a, b) in origins.items() if b - a < 1]
    if empty:
        sizes = ", ".join(f"{name} {b - a}" for name, (a, b) in splits.items())
        raise ArgumentError(
            "time_step", time_step,
            f"leaves no whole window in the {' and '.join(empty)} split (series length {length}; split sizes "
            f"{sizes}); a training window needs time_step + horizon = {time_step + horizon} values and every "
            f"split at least horizon = {horizon}"
        )
    return origins
