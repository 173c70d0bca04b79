"""Window: decide which windows of ``time_step`` values each split trains or is scored on; write that index as JSON.

Reads normalize.json (splits, and whether each window is scaled by its own statistics), series.json (whether
calendar inputs have dates to read, and the frequency ``calendar: auto`` and ``evaluate.season: auto`` go by)
and, for ``time_step: auto``, ``evaluate.season``.

Windows are never materialised: train and evaluate keep the scaled series once and slice it through
``lstm_forecast.prep.windows.Windows`` (a strided view).
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


from lstm_forecast.data.artifacts import Normalization, SeriesInfo, WindowIndex
from lstm_forecast.errors import UserError, param_errors
from lstm_forecast.config.feasibility import Plan, Split, check
from lstm_forecast.prep.features import auto_time_step_reason
from lstm_forecast.data.files import check_outputs, write_json
from lstm_forecast.config.params import load_keys, load_section
from lstm_forecast.config.crossval import CrossvalParams
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.forecast import ForecastParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.config.window import WindowParams
from lstm_forecast.prep.splits import fold_bounds, window_origins
from pipeline.edge import stage_main

log = logging.getLogger("window")


def check_calendar(params: WindowParams, info: SeriesInfo, info_path: Path) -> None:
    """Calendar inputs need dates: not a step index, not rows without a time column."""
    if params.calendar and params.calendar != "auto" and (info.time_column is None or info.step is not None):
        what = "no time column" if info.time_column is None else f"a step index ({info.time_column!r}), not dates"
        raise UserError(f"window.calendar={list(params.calendar)} needs a time column of dates; {info_path} has "
                        f"{what}; set window.calendar: [] or ingest.time_column")


def run(params: WindowParams, later: Later, stats_path: Path, info_path: Path, out: Path) -> None:
    """``later``: the few keys of the later stages' sections whose limits depend on the windows."""
    norm, info = Normalization.read(stats_path), SeriesInfo.read(info_path)
    check_calendar(params, info, info_path)
    train_length = norm.splits["train"][1] - norm.splits["train"][0]
    evaluate, line = later.evaluate.resolve_season(info.freq)
    if line is not None and params.time_step == "auto":
        log.info("%s", line)
    time_step = params.input_length(evaluate.season, train_length)
    if params.time_step == "auto":
        log.info("time_step auto: %d (%s)", time_step, auto_time_step_reason(evaluate.season, train_length))
    hint = "lower window.time_step or window.horizon, or give the series more rows"
    with param_errors("window", hint=hint):
        origins = window_origins(norm.length, norm.splits, time_step, params.horizon)
    evaluate, line = evaluate.resolve_stride(origins)
    if line is not None:
        log.info("%s", line)
    for line in check(plan(evaluate, later), [Split("today", origins, norm.splits, params.horizon)]
                                  + fold_splits(norm, params, evaluate.season, later.crossval.folds)):
        log.info("%s", line)
    calendar = params.calendar_inputs(info.freq)
    if params.calendar == "auto":
        log.info("calendar auto: %s for frequency %s", list(calendar) or "none", info.freq)
    index = WindowIndex(time_step, params.target, params.horizon, origins, norm.scale_windows, calendar)
    write_json(out, index.to_json())
    log.info("time_step %d, horizon %d, target %s%s%s: windows per split %s", time_step, params.horizon,
             params.target, ", each window scaled by its own statistics" if norm.scale_windows else "",
             f", calendar inputs {list(calendar)}" if calendar else "", index.counts)


@dataclass(frozen=True)
class Later:
    """The keys of later stages' sections this stage reads (each declared in dvc.yaml)."""

    evaluate: EvaluateParams
    train: TrainParams
    forecast: ForecastParams
    crossval: CrossvalParams

    KEYS = {"evaluate": ("season", "stride", "interval", "interval_window", "interval_method"),
            "train": ("batch_size", "strategy"), "forecast": ("steps", "levels"), "crossval": ("folds",)}

    @classmethod
    def read(cls, path: str) -> Later:
        classes = {"evaluate": EvaluateParams, "train": TrainParams, "forecast": ForecastParams,
                   "crossval": CrossvalParams}
        return cls(**{name: load_keys(c, name, cls.KEYS[name], path) for name, c in classes.items()})


def plan(evaluate: EvaluateParams, later: Later) -> Plan:
    return Plan(evaluate.season, evaluate.stride, evaluate.interval, evaluate.interval_window,
                later.train.batch_size, later.train.strategy, later.forecast.steps, evaluate.interval_method,
                later.forecast.levels)


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


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (section 'window')")
    parser.add_argument("--stats", required=True, type=Path, help="split bounds from normalize, JSON")
    parser.add_argument("--info", required=True, type=Path, help="what ingest found about the series, JSON")
    parser.add_argument("--out", required=True, type=Path, help="window index, JSON")
    args = parser.parse_args(argv)
    check_outputs(args.out)  # a bad path fails before any work is done
    # dvc.yaml declares each key of another section read here as this stage's param too.
    run(load_section(WindowParams, "window", args.params), Later.read(args.params), args.stats, args.info, args.out)

if __name__ == "__main__":
    raise SystemExit(main())
