"""One cross-validation fold, rebuilt from its own training span: scaler, windows, the LSTM (trained with
the train params, its epoch chosen on the fold's validation span) and every baseline, scored on the
fold's test span exactly as evaluate scores today's."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstm_forecast.evaluation import metrics
from lstm_forecast.data.artifacts import Normalization, Span, WindowIndex
from lstm_forecast.evaluation.assess import assess_many, statistical_work
from lstm_forecast.evaluation.backtest import whole_backtest
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.normalize import NormalizeParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.config.window import WindowParams
from lstm_forecast.prep.splits import scale_series, window_origins
from lstm_forecast.errors import ArgumentError
from lstm_forecast.model.fitting import train_many
from lstm_forecast.model.training import Diverged
from lstm_forecast.parallel import alongside, job_of


PER_STEP = re.compile(r"_h\d+$")


def _plan(series: pd.DataFrame, splits: dict[str, Span], normalize: NormalizeParams, window: WindowParams,
          evaluate: EvaluateParams, freq: str | None) -> tuple[pd.DataFrame, Normalization, WindowIndex]:
    """What normalize and window make of ``series`` split at ``splits``: the scaled frame, its normalization
    and the window index."""
    frame, norm = scale_series(series, splits, normalize.method, normalize.difference, normalize.outliers)
    time_step = window.input_length(evaluate.season, splits["train"][1] - splits["train"][0])
    origins = window_origins(len(frame), splits, time_step, window.horizon)
    index = WindowIndex(time_step, window.target, window.horizon, origins, norm.scale_windows,
                        window.calendar_inputs(freq))
    return frame, norm, index


def score_many(parts: list[tuple[pd.DataFrame, dict[str, Span]]], normalize: NormalizeParams, window: WindowParams,
               train: TrainParams, evaluate: EvaluateParams, device: torch.device,
               freq: str | None = None) -> list[dict[str, float]]:
    """``score_split`` for each (series, splits) of ``parts``, their training and their baselines spread over
    the workers together. An exception says which part failed in ``err.job`` (lstm_forecast.parallel)."""
    plans = []
    for j, (series, splits) in enumerate(parts):
        with job_of(j):
            plans.append(_plan(series, splits, normalize, window, evaluate, freq))
    # The baselines' backtests need no LSTM: the workers turn to them as the training's tasks run out.
    keys, tasks = statistical_work([(frame, norm, index, None, train.strategy, evaluate)
                                    for frame, norm, index in plans], device)
    with alongside(whole_backtest, tasks) as side:
        trained = train_many([(frame, index, train) for frame, _, index in plans], device)
    assessed = assess_many([(frame, norm, index, result.model.eval(), train.strategy, evaluate)
                            for (frame, norm, index), (result, _) in zip(plans, trained)], device,
                           dict(zip(keys, side.results)))
    return [{key: value for key, value in results.items() if key != "mase_scale"} for _, results in assessed]


def score_split(series: pd.DataFrame, splits: dict[str, Span], normalize: NormalizeParams, window: WindowParams,
                train: TrainParams, evaluate: EvaluateParams, device: torch.device,
                freq: str | None = None) -> dict[str, float]:
    """What the pipeline's normalize, window, train and evaluate stages would score on ``series`` split at
    ``splits``, keyed like evaluate.json (``val_lstm_mase``, ``test_lstm_vs_linear_dm_p``, ...) without
    ``mase_scale``. ``freq``: the series' frequency, for ``calendar: auto``; ``evaluate``: season resolved."""
    return score_many([(series, splits)], normalize, window, train, evaluate, device, freq)[0]


@dataclass(frozen=True)
class FoldScores:
    """One fold's outcome: its number (oldest 1), split bounds, test scores (``score_split``'s test keys
    without the ``test_`` prefix: ``lstm_rmse``, ``lstm_vs_linear_dm_p``, ...), the LSTM's validation MASE,
    and the seconds its share of the work took (the folds run together: their sum is the stage's work)."""

    k: int
    splits: dict[str, Span]
    test: dict[str, float]
    val_mase: float
    seconds: float


def cross_validate(series: pd.DataFrame, plans: list[tuple[int, dict[str, Span]]], normalize: NormalizeParams,
                   window: WindowParams, train: TrainParams, evaluate: EvaluateParams, device: torch.device,
                   freq: str | None = None) -> Iterator[FoldScores]:
    """Every fold of ``plans`` (``prep.splits.fold_splits``), oldest first, rebuilt from its own values and
    scored, all folds' work spread over the workers together. ``evaluate``: season resolved. A fold's
    ArgumentError or divergence says which fold it was."""
    started = time.perf_counter()
    try:
        scored = score_many([(series.iloc[:length], splits) for length, splits in plans], normalize, window, train,
                            evaluate, device, freq)
    except ArgumentError as err:
        raise ArgumentError(err.name, err.value, f"{err.reason}; {_where(err, plans)}") from None
    except Diverged as err:
        k = getattr(err, "job", 0) + 1
        raise Diverged(f"crossval fold {k} of {len(plans)}: {err}") from None
    seconds = (time.perf_counter() - started) / max(1, len(plans))
    for k, ((_, splits), results) in enumerate(zip(plans, scored), start=1):
        test = {key.removeprefix("test_"): value for key, value in results.items() if key.startswith("test_")}
        yield FoldScores(k, splits, test, results["val_lstm_mase"], seconds)


def _where(err: Exception, plans: list[tuple[int, dict[str, Span]]]) -> str:
    k = getattr(err, "job", 0) + 1
    return f"in crossval fold {k} of {len(plans)} (training span {plans[k - 1][1]['train'][1]})"


def crossval_summary(folds: int, done: list[FoldScores]) -> tuple[dict[str, float], list[str]]:
    """crossval.json: the number of folds asked for, every fold's scores, their means and sds (``summarise``),
    and the validation MASE per fold (``summarise_validation``); with the models scored, sorted."""
    scores = [fold.test for fold in done]
    models = sorted({key.removesuffix("_mase") for key in scores[0] if key.endswith("_mase")}) if scores else []
    return {"folds": folds, **summarise(scores, models),
            **summarise_validation([fold.val_mase for fold in done])}, models


def summarise_validation(val_mase: list[float]) -> dict[str, float]:
    """The LSTM's validation MASE per fold and its mean and sd over folds: a cross-validated score that reads
    no test span (today's fold validates on today's validation span), for choosing params."""
    values = np.array(val_mase)
    out = {f"fold{k}_lstm_val_mase": float(v) for k, v in enumerate(values, start=1)}
    if len(values):
        out["crossval_lstm_val_mase_mean"] = float(values.mean())
        out["crossval_lstm_val_mase_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def summarise(folds: list[dict[str, float]], models: list[str]) -> dict[str, float]:
    """Per fold (``fold<k>_...``, oldest k = 1) every score but the per-step ones, and over folds the mean
    and standard deviation (ddof 1; 0 for one fold) of every model's RMSE, MAE, sMAPE and MASE."""
    out: dict[str, float] = {}
    for k, scores in enumerate(folds, start=1):
        out |= {f"fold{k}_{key}": value for key, value in scores.items() if not PER_STEP.search(key)}
    for model in models:
        for metric in metrics.METRICS:
            values = np.array([scores[f"{model}_{metric}"] for scores in folds])
            out[f"crossval_{model}_{metric}_mean"] = float(values.mean())
            out[f"crossval_{model}_{metric}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return dict(sorted(out.items()))
