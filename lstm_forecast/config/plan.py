"""The window plan of a normalized series: the input length, which windows each split has, and every later
setting checked against them before any training (the window stage, and the Forecaster's fit)."""
from __future__ import annotations

from lstm_forecast.config.crossval import CrossvalParams
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.feasibility import Bands, Plan, Split, check, forecast_steps
from lstm_forecast.config.forecast import ForecastParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.config.window import WindowParams
from lstm_forecast.data.artifacts import CheckpointMeta, Normalization, SeriesInfo, WindowIndex
from lstm_forecast.errors import UserError, param_errors
from lstm_forecast.model.network import Ensemble
from lstm_forecast.prep.features import auto_time_step_reason
from lstm_forecast.prep.splits import fold_bounds, window_origins


def check_calendar(window: WindowParams, info: SeriesInfo, source: object) -> None:
    """Calendar inputs need dates: not a step index, not rows without a time column. ``source``: where the
    series came from, for the message (series.json, a frame)."""
    if window.calendar and window.calendar != "auto" and (info.time_column is None or info.step is not None):
        what = "no time column" if info.time_column is None else f"a step index ({info.time_column!r}), not dates"
        raise UserError(f"window.calendar={list(window.calendar)} needs a time column of dates; {source} has "
                        f"{what}; set window.calendar: [] or ingest.time_column")


def plan_windows(norm: Normalization, freq: str | None, window: WindowParams, evaluate: EvaluateParams,
                 train: TrainParams, forecast: ForecastParams,
                 crossval: CrossvalParams) -> tuple[WindowIndex, EvaluateParams, list[str]]:
    """The window index of ``norm``'s series, evaluate's params with season and stride resolved, and the log
    lines saying what every ``auto`` became. A setting that cannot hold on today's split or on a crossval
    fold is a UserError naming its key (config.feasibility)."""
    lines = []
    train_length = norm.splits["train"][1] - norm.splits["train"][0]
    evaluate, line = evaluate.resolve_season(freq)
    if line is not None and window.time_step == "auto":
        lines.append(line)
    time_step = window.input_length(evaluate.season, train_length)
    if window.time_step == "auto":
        lines.append(f"time_step auto: {time_step} ({auto_time_step_reason(evaluate.season, train_length)})")
    hint = "lower window.time_step or window.horizon, or give the series more rows"
    with param_errors("window", hint=hint):
        origins = window_origins(norm.length, norm.splits, time_step, window.horizon)
    evaluate, line = evaluate.resolve_stride(origins)
    if line is not None:
        lines.append(line)
    plan = Plan(evaluate.season, evaluate.stride, evaluate.interval, evaluate.interval_window, train.batch_size,
                train.strategy, forecast.steps, evaluate.interval_method, forecast.levels)
    lines += check(plan, [Split("today", origins, norm.splits, window.horizon)]
                   + fold_splits(norm, window, evaluate.season, crossval.folds))
    calendar = window.calendar_inputs(freq)
    if window.calendar == "auto":
        lines.append(f"calendar auto: {list(calendar) or 'none'} for frequency {freq}")
    index = WindowIndex(time_step, window.target, window.horizon, origins, norm.scale_windows, calendar)
    return index, evaluate, lines


def fold_splits(norm: Normalization, params: WindowParams, season: int, folds: int) -> list[Split]:
    """Every crossval fold but the last (today's split), as crossval will build it."""
    out = []
    with param_errors("crossval", hint="lower crossval.folds, or give the series more rows"):
        plans = fold_bounds(norm.length, norm.splits, folds)
    for k, (length, splits) in enumerate(plans[:-1], start=1):
        time_step = params.input_length(season, splits["train"][1] - splits["train"][0])
        with param_errors("window", hint=f"in crossval fold {k} of {folds}; lower crossval.folds or "
                                         "window.time_step"):
            origins = window_origins(length, splits, time_step, params.horizon)
        out.append(Split(f"crossval fold {k} of {folds}", origins, splits, params.horizon))
    return out


def plan_future(forecast: ForecastParams, evaluate: EvaluateParams, norm: Normalization, index: WindowIndex,
                strategy: str) -> tuple[int, EvaluateParams, list[str]]:
    """The steps the future is forecast for (``auto`` resolved), evaluate's params with the stride resolved, and
    the log lines saying what each ``auto`` became."""
    test, val = (norm.splits[s][1] - norm.splits[s][0] for s in ("test", "val"))
    evaluate, stride_line = evaluate.resolve_stride(index.origins)
    steps, line = forecast_steps(forecast.steps, test, val, index.horizon, strategy,
                                 Bands(evaluate.interval_method, forecast.levels, evaluate.stride))
    return steps, evaluate, [text for text in (line, stride_line) if text]


def refit_mismatch(model: Ensemble, meta: CheckpointMeta, train: TrainParams) -> tuple | None:
    """Retraining repeats the evaluated model's members for the epochs validation chose for each, so ``train``
    must describe the members it trained: None if it does, else what they were (hidden_size, num_layers,
    dropout, highway, ensemble, strategy)."""
    trained = (model.config.hidden_size, model.config.num_layers, model.config.dropout, bool(model.config.highway),
               len(meta.best_epochs), meta.strategy)
    wanted = (train.hidden_size, train.num_layers, train.dropout, train.highway, train.ensemble, train.strategy)
    return None if trained == wanted else trained
