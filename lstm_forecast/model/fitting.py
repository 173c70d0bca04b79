"""Fitting the LSTM to a planned series: on its training windows, the epoch chosen on its validation windows
(the train stage, every crossval fold, the Forecaster's fit); and again on the whole series for the epochs
chosen (the forecast stage's refit, the Forecaster's predict)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from lstm_forecast.config.train import TrainParams
from lstm_forecast.data.artifacts import CheckpointMeta, Normalization, WindowIndex
from lstm_forecast.errors import ArgumentError
from lstm_forecast.model.fit_results import TrainResult
from lstm_forecast.model.network import Ensemble
from lstm_forecast.parallel import job_of
from lstm_forecast.model.members import fit_many, refit
from lstm_forecast.prep.scaling import fit_scaler
from lstm_forecast.prep.windows import Windows, series_tensors, split_windows

log = logging.getLogger(__name__)


def train_pairs(frame: pd.DataFrame, index: WindowIndex, params: TrainParams,
                device: torch.device | None = None) -> tuple[Windows, Windows, TrainParams]:
    """The training and validation windows of normalize's ``frame`` as ``index`` plans them, and ``params``
    with ``batch_size: auto`` resolved for them. Recursive: the model learns one step and is rolled forward at
    forecast time; direct: all H at once. Validation windows hold the full horizon."""
    series, features = series_tensors(frame, index, device)
    outputs = index.horizon if params.strategy == "direct" else 1
    train = split_windows(series, features, index, "train", index.target, outputs)
    val = split_windows(series, features, index, "val", "last", index.horizon)
    params = params.for_windows(len(train))
    if params.batch_size > len(train):
        raise ArgumentError("batch_size", params.batch_size, f"larger than the {len(train)} training windows; "
                            f"use at most {len(train)}, or auto")
    return train, val, params


def train_on(frame: pd.DataFrame, index: WindowIndex, params: TrainParams, device: torch.device | None = None,
             announce=lambda kernels: None) -> tuple[TrainResult, CheckpointMeta]:
    """The trained ensemble (each member's best validation epoch) and the meta its checkpoint carries."""
    return train_many([(frame, index, params)], device, announce)[0]


def train_many(jobs: list[tuple[pd.DataFrame, WindowIndex, TrainParams]], device: torch.device | None = None,
               announce=lambda kernels: None) -> list[tuple[TrainResult, CheckpointMeta]]:
    """``train_on`` for each (frame, index, params) of ``jobs`` (crossval's folds), every member of every job
    trained in parallel (lstm_forecast.model.members.fit_many)."""
    pairs = []
    for j, (frame, index, params) in enumerate(jobs):
        with job_of(j):
            pairs.append(train_pairs(frame, index, params, device))
    for train, val, params in pairs:
        log.info("training on %d windows (validation %d) on %s, %d thread(s)", len(train), len(val),
                 device or "cpu", params.threads)
    results = fit_many(pairs, device or torch.device("cpu"), announce)
    out = []
    for result, (_, index, _), (_, _, params) in zip(results, jobs, pairs):
        if result.stopped_early:
            log.info("early stop at epoch %d: no validation improvement for %d epochs", result.stopped_early,
                     params.patience)
        out.append((result, CheckpointMeta.for_windows(tuple(m.best_epoch for m in result.members), index,
                                                       params.strategy)))
    return out


def whole_series(norm: Normalization, values: np.ndarray) -> Normalization:
    """``norm`` for a model trained on every value: the scaler refitted on the whole modelled series (without
    the first point's change when differenced, which is no change, as in scale_series; clipped to the
    training span's outlier bounds, as the model was trained), and empty validation and test spans."""
    n = len(values)
    scaler = fit_scaler(norm.modelled(values)[int(norm.difference):], norm.scaler.method)
    return Normalization(n, {"train": (0, n), "val": (n, n), "test": (n, n)}, scaler, norm.difference,
                         norm.difference_test, norm.clip)


def refit_whole(z: torch.Tensor, features: torch.Tensor | None, index: WindowIndex, meta: CheckpointMeta,
                params: TrainParams, outputs: int, device: torch.device | None = None) -> Ensemble:
    """The members again, on every window of the whole scaled series ``z`` (N,) with its calendar inputs, each
    for the epochs validation chose for it (``meta.best_epochs``), with the batch size train resolved for its
    training windows: the same members again on more windows."""
    device = device or torch.device("cpu")
    n = len(z)
    params = params.for_windows(index.origins["train"][1] - index.origins["train"][0])
    horizon = index.horizon if meta.strategy == "direct" else 1
    windows = Windows(z.to(device), (index.time_step, n - horizon + 1), index.time_step, index.target, horizon, 1,
                      index.scale_windows, None if features is None else features.to(device))
    return refit(windows, params, meta.best_epochs, outputs, device).cpu()
