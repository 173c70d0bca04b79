"""Fit tune.yaml's window.time_step to the series: a value whose windows cannot fit a split is never proposed.

The window stage needs time_step + horizon values in the training span (lstm_forecast.prep.splits.window_origins), and
crossval redoes it in every fold, whose training spans are shorter: a value that fails there fails its trial,
which would then only be told to Optuna as pruned. The series' length comes from the workspace's
data/series.json (as the last `dvc repro` left it), the splits from normalize.train/val/test and crossval.folds,
which tune.yaml cannot change (ci/search_space.py).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ci.search_space import CATEGORICAL, INT, Dimension
from lstm_forecast.data.artifacts import SeriesInfo, Span
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.config.params import load_keys, read_params_file
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.normalize import NormalizeParams
from lstm_forecast.config.window import WindowParams
from lstm_forecast.prep.splits import fold_splits, split_bounds, window_origins

SERIES_INFO = Path("data/series.json")
TIME_STEP = "window.time_step"
Plan = tuple[str, int, dict[str, Span]]  # where (today's split or a crossval fold), length, split bounds


def plans(rows: int, params_path: Path) -> list[Plan]:
    """Today's split of ``rows`` values and, with crossval.folds > 0, each crossval fold's."""
    normalize = load_keys(NormalizeParams, "normalize", ("train", "val", "test"), params_path)
    fractions = (normalize.train, normalize.val, normalize.test)
    folds = (read_params_file(params_path).get("crossval") or {}).get("folds", 0)
    out = [("today's split", rows, split_bounds(rows, fractions))]
    if isinstance(folds, int) and folds > 0:
        try:
            fold_plans = fold_splits(rows, fractions, folds)
        except ArgumentError as err:
            raise UserError(f"crossval.{err}") from None
        out += [(f"crossval fold {k} of {folds}", length, splits)
                for k, (length, splits) in enumerate(fold_plans, start=1)]
    return out


def misfit(value: object, window: WindowParams, season: int, where: list[Plan]) -> str | None:
    """Why the window stage would refuse ``time_step: value`` in one of ``where``; None when it fits them all, or
    when the value is no time_step at all (the stage then says so itself)."""
    if not (value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)):
        return None
    params = dataclasses.replace(window, time_step=value)
    for name, length, splits in where:
        time_step = params.input_length(season, splits["train"][1] - splits["train"][0])
        try:
            window_origins(length, splits, time_step, window.horizon)
        except ArgumentError as err:
            return f"{name}: {err}"
    return None


def fit_dimension(dim: Dimension, window: WindowParams, season: int, where: list[Plan]) -> tuple[Dimension, list[str]]:
    """``dim`` without the time_step values that cannot fit, and a line for each value (or range) dropped;
    ValueError when none fits."""
    values = list(dim.choices) if dim.kind == CATEGORICAL else list(range(dim.low, dim.high + 1, dim.step or 1))
    why = {value: reason for value in values if (reason := misfit(value, window, season, where)) is not None}
    if len(why) == len(values):
        raise ValueError(f"none of the {len(values)} values of {TIME_STEP} in the search space fits the series "
                         f"({values[0]!r}: {why[values[0]]}); give it shorter ones")
    if dim.kind == CATEGORICAL:
        kept = tuple(c for c in dim.choices if c not in why)
        return dataclasses.replace(dim, choices=kept), [f"{TIME_STEP} {value!r} dropped: {reason}"
                                                        for value, reason in why.items()]
    if not why:
        return dim, []
    # Longer windows need more values (window_origins), so the values that fail are the top of the range.
    high = max(v for v in values if v not in why)
    return dataclasses.replace(dim, high=high), [f"{TIME_STEP} above {high} dropped (high {dim.high} -> {high}): "
                                                 f"{why[min(why)]}"]


def fit_space(space: list[Dimension], params_path: Path = Path("params.yaml"),
              info_path: Path = SERIES_INFO) -> tuple[list[Dimension], list[str]]:
    """``space`` with window.time_step fitted to the series ``info_path`` describes, and the lines saying what was
    dropped (or that nothing could be checked); ValueError when no value fits."""
    if not any(dim.key == TIME_STEP and dim.kind in (CATEGORICAL, INT) for dim in space):
        return space, []
    if not info_path.is_file():
        return space, [f"warning: {info_path} not found (run `make repro` first): {TIME_STEP} is not fitted to the "
                       "series, and values too long for it fail their trials"]
    try:
        info = SeriesInfo.read(info_path)
        window = load_keys(WindowParams, "window", ("horizon",), params_path)
        evaluate, _ = load_keys(EvaluateParams, "evaluate", ("season",), params_path).resolve_season(info.freq)
        where = plans(info.rows, params_path)
    except UserError as err:
        raise ValueError(f"fitting {TIME_STEP} to {info_path}: {err}") from None
    season = int(evaluate.season)
    fitted, lines = [], []
    for dim in space:
        if dim.key == TIME_STEP and dim.kind in (CATEGORICAL, INT):
            dim, dropped = fit_dimension(dim, window, season, where)
            lines += dropped
        fitted.append(dim)
    return fitted, lines
