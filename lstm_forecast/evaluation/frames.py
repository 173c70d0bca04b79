"""Evaluate's and crossval's results as long DataFrames, for the library's Forecaster: the rolling-origin
forecasts of every model beside the actual values, and the scores per split (or fold) and model."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import torch

from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.evaluation.folds import cross_validate, crossval_summary
from lstm_forecast.evaluation.metrics import METRICS
from lstm_forecast.prep.splits import fold_splits

SCORE = re.compile(rf"^(val|test)_(\w+?)_({'|'.join(METRICS)})$")


def _stamps(series: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """The time stamps of rows ``positions`` (the row numbers where the series has no time column)."""
    return series["time"].to_numpy()[positions] if "time" in series else positions


def backtest_frame(runs: dict[str, dict], series: pd.DataFrame, uid: object) -> pd.DataFrame:
    """One row per split, origin and step: ``cutoff`` (the last value the forecast read), ``ds`` (the value
    forecast), ``step``, ``y`` (the actual value), the LSTM's forecast with its interval (``lstm-lo``,
    ``lstm-hi``), and every baseline's forecast from the same origin."""
    parts = []
    for split, run in runs.items():
        origins, horizon = run["origins"], run["actual"].shape[1]
        at = (origins[:, None] + np.arange(horizon)).ravel()
        part = pd.DataFrame({"unique_id": uid, "split": split, "cutoff": _stamps(series, np.repeat(origins - 1, horizon)),
                             "ds": _stamps(series, at), "step": np.tile(np.arange(1, horizon + 1), len(origins)),
                             "y": run["actual"].ravel()})
        for model, forecasts in run["forecasts"].items():
            part[model] = forecasts.ravel()
            if model == "lstm" and "half_width" in run:
                part["lstm-lo"] = (forecasts - run["half_width"]).ravel()
                part["lstm-hi"] = (forecasts + run["half_width"]).ravel()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def scores_frame(results: dict[str, float], uid: object) -> pd.DataFrame:
    """evaluate.json's scores as rows per split and model (mean over steps): RMSE, MAE, sMAPE, MASE, and on
    test the Diebold-Mariano p-value of the LSTM against the model. Every key of evaluate.json (per step,
    coverage, skill) is in ``.attrs["results"]``."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for key, value in results.items():
        match = SCORE.match(key)
        if match:
            split, model, metric = match.groups()
            rows.setdefault((split, model), {})[metric] = value
    frame = pd.DataFrame([{"unique_id": uid, "split": split, "model": model, **scores,
                           "dm_p": results.get(f"test_lstm_vs_{model}_dm_p", np.nan) if split == "test" else np.nan}
                          for (split, model), scores in rows.items()])
    frame.attrs["results"] = dict(results)
    return frame


def crossval_frame(series: pd.DataFrame, info: SeriesInfo, uid: object, settings, folds: int,
                   device: torch.device) -> pd.DataFrame:
    """crossval's folds of ``series`` with ``settings`` (config.sections.Settings): per fold and model the test
    scores and the Diebold-Mariano p-value against the LSTM, with the fold's cutoff (the last value before its
    test span, where its model's training and validation end). crossval.json's summary is in ``.attrs["summary"]``."""
    s = settings
    evaluate, _ = s.evaluate.resolve_season(info.freq)
    plans = fold_splits(len(series), (s.normalize.train, s.normalize.val, s.normalize.test), folds)
    done = list(cross_validate(series, plans, s.normalize, s.window, s.train, evaluate, device, info.freq))
    summary, models = crossval_summary(folds, done)
    rows = [{"unique_id": uid, "fold": fold.k,
             "cutoff": _stamps(series, np.array([fold.splits["test"][0] - 1]))[0], "model": model,
             **{metric: fold.test[f"{model}_{metric}"] for metric in METRICS},
             "dm_p": fold.test.get(f"lstm_vs_{model}_dm_p", np.nan)} for fold in done for model in models]
    frame = pd.DataFrame(rows, columns=["unique_id", "fold", "cutoff", "model", *METRICS, "dm_p"])
    frame.attrs["summary"] = summary
    return frame
