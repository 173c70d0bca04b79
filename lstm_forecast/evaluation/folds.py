"""One cross-validation fold, rebuilt from its own training span: scaler, windows, the LSTM (trained with
the train params, its epoch chosen on the fold's validation span) and every baseline, scored on the
fold's test span exactly as evaluate scores today's."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import torch

from lstm_forecast.evaluation import metrics
from lstm_forecast.data.artifacts import Span, WindowIndex
from lstm_forecast.evaluation.backtest import backtest
from lstm_forecast.evaluation.scoring import score_splits
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.normalize import NormalizeParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.config.window import WindowParams
from lstm_forecast.prep.splits import scale_series, window_origins
from lstm_forecast.model.training import fit
from lstm_forecast.prep.windows import series_tensors, split_windows


PER_STEP = re.compile(r"_h\d+$")


def train_fold(series: torch.Tensor, features: torch.Tensor | None, index: WindowIndex, train: TrainParams,
               device: torch.device):
    """The LSTM of one fold, as the train stage would fit it on this scaled series and window index."""
    outputs = index.horizon if train.strategy == "direct" else 1
    train_windows = split_windows(series, features, index, "train", index.target, outputs)
    val_windows = split_windows(series, features, index, "val", "last", index.horizon)
    return fit(train_windows, val_windows, train.for_windows(len(train_windows)), device).model.eval()


def score_split(series: pd.DataFrame, splits: dict[str, Span], normalize: NormalizeParams, window: WindowParams,
                train: TrainParams, evaluate: EvaluateParams, device: torch.device,
                freq: str | None = None) -> dict[str, float]:
    """What the pipeline's normalize, window, train and evaluate stages would score on ``series`` split at
    ``splits``, keyed like evaluate.json (``val_lstm_mase``, ``test_lstm_vs_linear_dm_p``, ...). ``freq``:
    the series' frequency, for ``calendar: auto``."""
    frame, norm = scale_series(series, splits, normalize.method, normalize.difference, normalize.outliers)
    time_step = window.input_length(evaluate.season, splits["train"][1] - splits["train"][0])
    origins = window_origins(len(frame), splits, time_step, window.horizon)
    evaluate, _ = evaluate.resolve_stride(origins)
    index = WindowIndex(time_step, window.target, window.horizon, origins, norm.scale_windows,
                        window.calendar_inputs(freq))
    tensor, features = series_tensors(frame, index, device)
    model = train_fold(tensor, features, index, train, device)
    values = frame["value"].to_numpy(dtype=np.float64)
    scale = metrics.naive_scale(values[splits["train"][0] : splits["train"][1]])
    runs = backtest(values, frame["scaled"].to_numpy(dtype=np.float64), norm, index, model, train.strategy,
                    evaluate, scale, device, features)
    return score_splits(runs, scale, evaluate.interval, evaluate.stride, evaluate.interval_method,
                        evaluate.interval_gamma)


def score_fold(series: pd.DataFrame, splits: dict[str, Span], normalize: NormalizeParams, window: WindowParams,
               train: TrainParams, evaluate: EvaluateParams, device: torch.device,
               freq: str | None = None) -> tuple[dict[str, float], float]:
    """The fold's test-span scores, keyed like evaluate's without the ``test_`` prefix (``lstm_rmse``,
    ``lstm_vs_linear_dm_p``, ...), and the LSTM's MASE on the fold's validation span. ``series`` holds the
    fold's values only: nothing after its test span."""
    results = score_split(series, splits, normalize, window, train, evaluate, device, freq)
    test = {key.removeprefix("test_"): value for key, value in results.items() if key.startswith("test_")}
    return test, results["val_lstm_mase"]


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
