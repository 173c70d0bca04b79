"""Rolling-origin backtests: every model forecasts H steps from the same origins of the validation and test
spans, in original units. A forecast from origin ``t`` reads ``values[:t]`` only."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from lstm_forecast.data.artifacts import Normalization, WindowIndex
from lstm_forecast.evaluation.baselines import fit_linear, linear_forecast, persistence, seasonal_naive
from lstm_forecast.errors import ArgumentError
from lstm_forecast.model.forecasting import forecast, to_levels
from lstm_forecast.evaluation.intervals import local_scale, volatility_floor
from lstm_forecast.model.network import Ensemble
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.evaluation.statistical import STATISTICAL, fit_statistical, preload, statistical_forecast
from lstm_forecast.parallel import job_of, run_all
from lstm_forecast.prep.windows import split_windows

SCORED_SPLITS = ("val", "test")
# Origins per task of a statistical baseline's backtest: small enough that the blocks share out evenly.
BLOCK_ORIGINS = 32


def future_values(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """``values[t : t + horizon]`` for each origin ``t``: (n, H)."""
    return values[origins[:, None] + np.arange(horizon)]


def baseline_forecasters(values: np.ndarray, z: np.ndarray, norm: Normalization, index: WindowIndex,
                         evaluate: EvaluateParams, fitted: dict | None = None
                         ) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """For each of ``evaluate.baselines``, in that order, the function from origins (n,) to its forecasts
    (n, H) in original units; models with parameters are fitted here, on the training span only, or taken
    from ``fitted`` (name -> fitted statistical model)."""
    time_step, horizon = index.time_step, index.horizon
    makers = {
        "persistence": lambda: lambda o: persistence(values, o, horizon),
        "seasonal_naive": lambda: lambda o: seasonal_naive(values, o, horizon, evaluate.season),
    }

    def linear():
        fitted = fit_linear(z, index.origins["train"], time_step, horizon, evaluate.ridge_alpha)
        return lambda o: to_levels(norm.scaler.inverse(linear_forecast(fitted, z, o, time_step)), values, o,
                                   norm.difference)

    def statistical(name: str):
        model = (fitted or {}).get(name)
        model = _fit_statistical((name, values, norm, evaluate)) if model is None else model
        return lambda o: statistical_forecast(model, values, o, horizon)

    makers["linear"] = linear
    makers |= {name: (lambda name=name: statistical(name)) for name in STATISTICAL}
    return {name: makers[name]() for name in evaluate.baselines}


def _fit_statistical(task: tuple) -> object:
    name, values, norm, evaluate = task
    train_lo, train_hi = norm.splits["train"]
    return fit_statistical(name, values[train_lo:train_hi], evaluate.season)


def _forward(task: tuple) -> np.ndarray:
    model, values, origins, horizon = task
    return statistical_forecast(model, values, origins, horizon)


def backtest(values: np.ndarray, z: np.ndarray, norm: Normalization, index: WindowIndex, model: Ensemble,
             strategy: str, evaluate: EvaluateParams, scale: float, device: torch.device | None = None,
             features: torch.Tensor | None = None) -> dict[str, dict]:
    """Per scored split: origins, actual values and every model's forecasts, (n, H), in original units,
    and each origin's recent volatility (for the interval). ``z`` is the scaled modelled series, ``features``
    its calendar inputs (lstm_forecast.prep.windows.series_tensors)."""
    return backtest_many([(values, z, norm, index, model, strategy, evaluate, scale, device, features)])[0]


def _plans(jobs: list[tuple]) -> list[tuple[EvaluateParams, dict]]:
    """Each job's evaluate params (stride resolved) and its scored splits' windows."""
    plans = []
    for j, (values, z, norm, index, model, strategy, evaluate, scale, device, features) in enumerate(jobs):
        evaluate, _ = evaluate.resolve_stride(index.origins)  # the stages resolve it first and log it
        first = min(index.origins[s][0] for s in SCORED_SPLITS)
        if evaluate.season > first:
            with job_of(j):
                raise ArgumentError("season", evaluate.season, f"reaches before the start of the series: the "
                                    f"first scored origin is {first}; use a season <= {first}")
        series = torch.tensor(z, dtype=torch.float32, device=device)
        features = None if features is None else features.to(device)
        windows = {split: split_windows(series, features, index, split, "last", index.horizon, evaluate.stride)
                   for split in SCORED_SPLITS}
        plans.append((evaluate, windows))
    return plans


def statistical_work(jobs: list[tuple]) -> tuple[list[tuple[int, str]], list[tuple]]:
    """The (job, baseline) keys and the tasks of every statistical baseline's whole backtest (``whole_backtest``:
    its fit, then its forecasts from every scored origin), for ``backtest_many(jobs, statistical=...)``: work
    that needs no LSTM, so crossval runs it beside its training (``parallel.alongside``). The jobs' models
    are not read."""
    plans = _plans(jobs)
    keys = [(j, name) for j, (evaluate, _) in enumerate(plans) for name in evaluate.baselines if name in STATISTICAL]
    if keys:
        preload()
    return keys, [(name, jobs[j][0], jobs[j][2], plans[j][0], jobs[j][3].horizon,
                   {split: plans[j][1][split].origins.cpu().numpy() for split in SCORED_SPLITS}) for j, name in keys]


def whole_backtest(task: tuple) -> tuple[object, dict[str, np.ndarray]]:
    """One statistical baseline fitted, and its forecasts from each split's origins: the bytes its blocks give."""
    name, values, norm, evaluate, horizon, origins = task
    model = _fit_statistical((name, values, norm, evaluate))
    return model, {split: statistical_forecast(model, values, o, horizon) for split, o in origins.items()}


def backtest_many(jobs: list[tuple], statistical: dict | None = None) -> list[dict[str, dict]]:
    """``backtest`` for each job of ``jobs`` (its arguments, in order; crossval's folds). The statistical
    baselines, the costly part, are spread over the workers (lstm_forecast.parallel): first every fit, then
    their forecasts in blocks of BLOCK_ORIGINS origins; each origin's forecast reads only the fitted model
    and the values before it, so the blocks give the bytes one pass gives. With ``statistical``
    (``statistical_work``'s keys -> ``whole_backtest``'s results, already run), they are taken from it."""
    plans = _plans(jobs)
    fits = [(j, name) for j, (evaluate, _) in enumerate(plans) for name in evaluate.baselines if name in STATISTICAL]
    if statistical is not None:
        models = {key: statistical[key][0] for key in fits}
        stat = {(j, name, split): [statistical[j, name][1][split]] for j, name in fits for split in SCORED_SPLITS}
    else:
        models, stat = _blocks(jobs, plans, fits)
    out = []
    for j, ((values, z, norm, index, model, strategy, _, scale, device, _), (evaluate, windows)) in enumerate(
            zip(jobs, plans)):
        with job_of(j):
            baselines = baseline_forecasters(values, z, norm, index, evaluate,
                                             {name: models[j, name] for jj, name in fits if jj == j})
        model = model.to(device)
        runs = {}
        for split in SCORED_SPLITS:
            origins = windows[split].origins.cpu().numpy()
            lstm = forecast(model, windows[split], index.horizon, strategy, spread=True).double().cpu().numpy()
            done = {name: np.concatenate(stat[j, name, split]) for name in evaluate.baselines
                    if (j, name, split) in stat}
            runs[split] = {
                "origins": origins,
                "volatility": local_scale(values, origins, evaluate.interval_window, volatility_floor(scale)),
                "actual": future_values(values, origins, index.horizon),
                "forecasts": {"lstm": to_levels(norm.scaler.inverse(lstm), values, origins, norm.difference)}
                | {name: done[name] if name in done else forecaster(origins)
                   for name, forecaster in baselines.items()},
            }
        out.append(runs)
    return out


def _blocks(jobs: list[tuple], plans: list[tuple], fits: list[tuple[int, str]]) -> tuple[dict, dict]:
    """The statistical baselines' fits, then their forecasts in blocks of BLOCK_ORIGINS origins, spread over
    the workers: the fitted models, and each (job, baseline, split)'s blocks in order."""
    if fits:
        preload()
    fitted = run_all(_fit_statistical, [(name, jobs[j][0], jobs[j][2], plans[j][0]) for j, name in fits],
                     jobs=[j for j, _ in fits], costs=[len(jobs[j][0]) for j, _ in fits])
    models = {key: model for key, model in zip(fits, fitted)}
    blocks = [(j, name, split, lo) for j, name in fits for split in SCORED_SPLITS
              for lo in range(0, len(plans[j][1][split].origins), BLOCK_ORIGINS)]
    forwards = run_all(_forward, [(models[j, name], jobs[j][0],
                                   plans[j][1][split].origins[lo:lo + BLOCK_ORIGINS].cpu().numpy(), jobs[j][3].horizon)
                                  for j, name, split, lo in blocks], jobs=[j for j, *_ in blocks])
    stat: dict[tuple, list[np.ndarray]] = {}
    for (j, name, split, _), block in zip(blocks, forwards):
        stat.setdefault((j, name, split), []).append(block)
    return models, stat
