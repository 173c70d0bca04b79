"""A model assessed as the evaluate stage assesses it: rolling-origin forecasts of the LSTM and every baseline
from the same origins of the validation and test spans, scored per split and step, with Diebold-Mariano tests
and the conformal interval's coverage (the evaluate stage, every crossval fold, the Forecaster's backtest)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.data.artifacts import Normalization, WindowIndex
from lstm_forecast.evaluation import metrics
from lstm_forecast.evaluation.backtest import backtest_many, statistical_work as backtest_statistical_work
from lstm_forecast.evaluation.scoring import score_splits
from lstm_forecast.model.network import Ensemble
from lstm_forecast.prep.windows import series_tensors


def assess(frame: pd.DataFrame, norm: Normalization, index: WindowIndex, model: Ensemble, strategy: str,
           evaluate: EvaluateParams, device: torch.device | None = None) -> tuple[dict[str, dict], dict[str, float]]:
    """The backtest's runs per split (``backtest.backtest``, with half-widths) and the scores keyed like
    evaluate.json, ``mase_scale`` (MASE's denominator, from the training span only) included. ``frame`` is
    normalize's (``value``, ``scaled``, and ``time`` for calendar inputs); ``evaluate``: season resolved."""
    return assess_many([(frame, norm, index, model, strategy, evaluate)], device)[0]


def assess_many(jobs: list[tuple], device: torch.device | None = None, statistical: dict | None = None
                ) -> list[tuple[dict[str, dict], dict[str, float]]]:
    """``assess`` for each (frame, norm, index, model, strategy, evaluate) of ``jobs`` (crossval's folds), their
    baselines' backtests spread over the workers together (``backtest.backtest_many``), or taken from
    ``statistical`` (what ``statistical_work``'s tasks gave, run beforehand)."""
    backtests = [_backtest_job(*job, device) for job in jobs]
    out = []
    for runs, (_, _, _, _, _, _, evaluate, scale, _, _) in zip(backtest_many(backtests, statistical), backtests):
        results = score_splits(runs, scale, evaluate.interval, evaluate.stride, evaluate.interval_method,
                               evaluate.interval_gamma)
        out.append((runs, results | {"mase_scale": scale}))
    return out


def statistical_work(jobs: list[tuple], device: torch.device | None = None) -> tuple[list[tuple], list[tuple]]:
    """``backtest.statistical_work`` for ``assess_many``'s jobs, whose models may be None (not trained yet):
    the keys and tasks of their statistical baselines' backtests, to run before or beside the training."""
    return backtest_statistical_work([_backtest_job(*job, device) for job in jobs])


def _backtest_job(frame: pd.DataFrame, norm: Normalization, index: WindowIndex, model: Ensemble | None,
                  strategy: str, evaluate: EvaluateParams, device: torch.device | None) -> tuple:
    """``backtest``'s arguments for one job; its MASE scale comes from the training span only."""
    values = frame["value"].to_numpy(dtype=np.float64)
    train_lo, train_hi = norm.splits["train"]
    scale = metrics.naive_scale(values[train_lo:train_hi])
    _, features = series_tensors(frame, index)
    evaluate, _ = evaluate.resolve_stride(index.origins)
    return (values, frame["scaled"].to_numpy(dtype=np.float64), norm, index, model, strategy, evaluate, scale,
            device, features)
