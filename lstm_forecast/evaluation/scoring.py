"""Scores of a backtest: every model's metrics per split and step, the interval's coverage, and the tables
the plots draw."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_forecast.evaluation import metrics
from lstm_forecast.errors import ArgumentError
from lstm_forecast.evaluation.intervals import Calibrator, conformal_quantile
from lstm_forecast.evaluation.significance import diebold_mariano

# Below this p-value a difference in loss is called significant.
ALPHA = 0.05


def origin_losses(run: dict, model: str) -> np.ndarray:
    """Each origin's loss: the mean squared error of its H forecasts. (n,)"""
    return ((run["forecasts"][model] - run["actual"]) ** 2).mean(axis=1)


def dm_p_values(run: dict, stride: int) -> dict[str, float]:
    """Diebold-Mariano p-value of the LSTM against every other model on one split's origins. Forecasts
    H steps ahead from origins ``stride`` apart overlap for ceil(H / stride) - 1 origins."""
    horizon = run["actual"].shape[1]
    overlap = -(-horizon // stride)
    lstm = origin_losses(run, "lstm")
    try:
        return {model: diebold_mariano(lstm, origin_losses(run, model), overlap).p_value
                for model in run["forecasts"] if model != "lstm"}
    except ArgumentError as err:  # too few origins: the stride (or a short test span) is the user's to change
        raise ArgumentError("stride", stride, f"leaves {len(lstm)} test origins, too few for the Diebold-Mariano "
                            f"test of {horizon}-step forecasts ({err.reason})") from None


def score_splits(runs: dict[str, dict], scale: float, level: float, stride: int = 1, method: str = "split",
                 gamma: float = 0.0) -> dict[str, float]:
    """Metrics keyed ``<split>_<model>_<metric>`` (mean over steps; ``_h<k>`` per step when H > 1), the
    LSTM's skill against persistence (left out where it is undefined, see ``skill``), its Diebold-Mariano
    p-value against each other model on the test origins (``test_lstm_vs_<model>_dm_p``), and test
    coverage / width of the conformal interval (``method`` and ``gamma``: see ``add_half_widths``). Adds
    each run's interval half-widths, (n, H), as ``half_width``."""
    results: dict[str, float] = {}
    horizon = runs["val"]["actual"].shape[1]
    for split, run in runs.items():
        results[f"{split}_points"] = len(run["origins"])
        for name, predicted in run["forecasts"].items():
            steps = [metrics.score(run["actual"][:, h], predicted[:, h], scale) for h in range(horizon)]
            for metric in metrics.METRICS:
                results[f"{split}_{name}_{metric}"] = float(np.mean([step[metric] for step in steps]))
                if horizon > 1:
                    for h, step in enumerate(steps, start=1):
                        results[f"{split}_{name}_{metric}_h{h}"] = step[metric]
        value = skill(results[f"{split}_lstm_mase"], results[f"{split}_persistence_mase"])
        if value is not None:
            results[f"{split}_lstm_skill"] = value
    add_half_widths(runs, level, method, gamma)
    for model, p in dm_p_values(runs["test"], stride).items():
        results[f"test_lstm_vs_{model}_dm_p"] = p
    return dict(sorted((results | coverage(runs["test"], level, scale)).items()))


def interval_scores(run: dict) -> np.ndarray:
    """The LSTM's absolute errors divided by each origin's recent volatility: (n, H)."""
    return np.abs(run["forecasts"]["lstm"] - run["actual"]) / run["volatility"][:, None]


def add_half_widths(runs: dict[str, dict], level: float, method: str, gamma: float) -> None:
    """Adds each run's interval half-widths, (n, H), as ``half_width``: the conformal quantile of the scores
    (``interval_scores``) times the origin's volatility. Validation calibrates itself by split conformal; on
    test, ``split`` keeps that quantile and ``adaptive`` recalibrates at each origin on the test errors
    observed before it, with step size ``gamma`` (``intervals.Calibrator``)."""
    val, test = runs["val"], runs["test"]
    cal = interval_scores(val)
    quantile = conformal_quantile(cal, level)  # (H,)
    test_quantile = Calibrator(method, gamma).steps(cal, interval_scores(test), test["origins"], level)
    val["half_width"] = quantile[None, :] * val["volatility"][:, None]
    test["half_width"] = test_quantile * test["volatility"][:, None]


def coverage(test: dict, level: float, scale: float) -> dict[str, float]:
    """The share of test values inside the interval, its mean width, its interval score (``msis``, scaled like
    MASE by ``scale``) and the pinball loss of its edges (``pinball``, scaled alike), over all steps and (H > 1)
    per step."""
    point, actual, half = test["forecasts"]["lstm"], test["actual"], test["half_width"]
    per = {"coverage": (np.abs(point - actual) <= half).astype(np.float64), "width": 2 * half,
           "msis": metrics.interval_score(actual, point - half, point + half, level, scale),
           "pinball": metrics.pinball(actual, point - half, point + half, level, scale)}
    results = {f"test_lstm_{name}": float(values.mean()) for name, values in per.items()}
    horizon = actual.shape[1]
    if horizon > 1:
        for h in range(horizon):
            results |= {f"test_lstm_{name}_h{h + 1}": float(values[:, h].mean()) for name, values in per.items()}
    return results


def skill(lstm_mase: float, persistence_mase: float) -> float | None:
    """``1 - lstm_mase / persistence_mase``: above 0 beats persistence. None where persistence is exact (its
    MASE is 0: the span repeats the value before each origin, e.g. a constant span), which leaves no
    error to improve on; a NaN or an infinity here would make the metrics file unreadable to DVC."""
    if persistence_mase == 0:
        return None
    return 1 - lstm_mase / persistence_mase


def tables(frame: pd.DataFrame, runs: dict[str, dict], results: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The one-step predictions with their interval (for the plots), and test RMSE per model and step."""
    parts = []
    for split, run in runs.items():
        lstm, half = run["forecasts"]["lstm"][:, 0], run["half_width"][:, 0]
        part = pd.DataFrame({"origin": run["origins"], "split": split, "actual": run["actual"][:, 0],
                             "predicted": lstm, "lower": lstm - half, "upper": lstm + half})
        if "time" in frame:
            part.insert(1, "time", frame["time"].iloc[run["origins"]].astype(str).to_numpy())
        parts.append(part)
    horizon = runs["test"]["actual"].shape[1]
    models = list(runs["test"]["forecasts"])
    suffix = (lambda h: f"_h{h}") if horizon > 1 else (lambda h: "")
    by_step = pd.DataFrame({"h": np.arange(1, horizon + 1)} | {
        m: [results[f"test_{m}_rmse{suffix(h)}"] for h in range(1, horizon + 1)] for m in models})
    return pd.concat(parts, ignore_index=True), by_step
