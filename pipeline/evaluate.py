"""Evaluate: rolling-origin forecasts on validation and test, scored against three baselines, with intervals."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch

from pipeline import metrics
from pipeline.errors import UserError, stage_main
from pipeline.files import check_outputs, read_json, read_parquet, write_csv, write_json
from pipeline.backtest import (conformal_quantile, fit_linear, future_values, linear_forecast, local_scale,
                               persistence, seasonal_naive, to_levels)
from pipeline.model import LSTMForecaster, forecast, load_checkpoint, resolve_device
from pipeline.params import load_section, require
from pipeline.scaling import Scaler
from pipeline.window import Windows

log = logging.getLogger("evaluate")

SCORED_SPLITS = ("val", "test")


@dataclass(frozen=True)
class EvaluateParams:
    # The shipped monthly sunspot series cycles about every 11 years = 132 months.
    season: int = 132
    stride: int = 1
    interval: float = 0.9
    # Residuals are divided by the recent volatility (mean |one-step change| over this many steps before the
    # origin), so the interval widens in turbulent stretches; 0 gives plain split conformal.
    interval_window: int = 12
    ridge_alpha: float = 1.0
    device: Literal["auto", "cpu", "cuda"] = "auto"

    def validate(self) -> None:
        require(self.season >= 1, f"evaluate.season={self.season} should be >= 1")
        require(self.stride >= 1, f"evaluate.stride={self.stride} should be >= 1")
        require(0 < self.interval < 1, f"evaluate.interval={self.interval} should be a coverage between 0 and 1")
        require(self.interval_window >= 0, f"evaluate.interval_window={self.interval_window} should be >= 0")
        require(self.ridge_alpha >= 0, f"evaluate.ridge_alpha={self.ridge_alpha} should be >= 0")


def backtest(frame: pd.DataFrame, index: dict, stats: dict, model: LSTMForecaster, strategy: str,
             params: EvaluateParams, scale: float, device: torch.device | None = None) -> dict[str, dict]:
    """Per scored split: origins, actual values and every model's forecasts, (n, H), in original units,
    and each origin's recent volatility (for the interval)."""
    values = frame["value"].to_numpy(dtype=np.float64)
    z = frame["scaled"].to_numpy(dtype=np.float64)
    scaler, difference = Scaler.from_json(stats["scaler"]), stats.get("difference", False)
    time_step, horizon = index["time_step"], index["horizon"]
    first = min(index["ends"][s][0] for s in SCORED_SPLITS)
    if params.season > first:
        raise UserError(
            f"evaluate.season={params.season} reaches before the start of the series: the first scored point is "
            f"t={first}; use a season <= {first}"
        )
    linear = fit_linear(z, index["ends"]["train"], time_step, horizon, params.ridge_alpha)
    series = torch.tensor(z, dtype=torch.float32, device=device)
    model = model.to(device)
    out = {}
    for split in SCORED_SPLITS:
        windows = Windows(series, index["ends"][split], time_step, "last", horizon, params.stride)
        starts = windows.ends.cpu().numpy()
        out[split] = {
            "starts": starts,
            # The floor keeps a calm stretch (a run of zeros) from giving a zero-width interval.
            "volatility": local_scale(values, starts, params.interval_window, 0.1 * scale),
            "actual": future_values(values, starts, horizon),
            "forecasts": {
                "lstm": to_levels(scaler.inverse(forecast(model, windows, horizon, strategy).double().cpu().numpy()),
                                  values, starts, difference),
                "persistence": persistence(values, starts, horizon),
                "seasonal_naive": seasonal_naive(values, starts, horizon, params.season),
                "linear": to_levels(scaler.inverse(linear_forecast(linear, z, starts, time_step)), values, starts,
                                    difference),
            },
        }
    return out


def score_splits(runs: dict[str, dict], scale: float, level: float) -> dict[str, float]:
    """Metrics keyed ``<split>_<model>_<metric>`` (mean over steps; ``_h<k>`` per step when H > 1), the
    LSTM's skill against persistence, and test coverage / width of the conformal interval. Adds each
    run's interval half-widths, (n, H), as ``half_width``."""
    results: dict[str, float] = {}
    horizon = runs["val"]["actual"].shape[1]
    val = runs["val"]
    # Split conformal on the validation span, per step; scores normalised by each origin's volatility.
    quantile = conformal_quantile((val["forecasts"]["lstm"] - val["actual"]) / val["volatility"][:, None], level)
    for split, run in runs.items():
        results[f"{split}_points"] = len(run["starts"])
        for name, predicted in run["forecasts"].items():
            steps = [metrics.score(run["actual"][:, h], predicted[:, h], scale) for h in range(horizon)]
            for metric in metrics.METRICS:
                results[f"{split}_{name}_{metric}"] = float(np.mean([step[metric] for step in steps]))
                if horizon > 1:
                    for h, step in enumerate(steps, start=1):
                        results[f"{split}_{name}_{metric}_h{h}"] = step[metric]
        results[f"{split}_lstm_skill"] = 1 - results[f"{split}_lstm_mase"] / results[f"{split}_persistence_mase"]
    for run in runs.values():
        run["half_width"] = quantile[None, :] * run["volatility"][:, None]  # (n, H)
    test = runs["test"]
    inside = np.abs(test["forecasts"]["lstm"] - test["actual"]) <= test["half_width"]
    results["test_lstm_coverage"] = float(inside.mean())
    results["test_lstm_width"] = float(2 * test["half_width"].mean())
    if horizon > 1:
        for h in range(horizon):
            results[f"test_lstm_coverage_h{h + 1}"] = float(inside[:, h].mean())
            results[f"test_lstm_width_h{h + 1}"] = float(2 * test["half_width"][:, h].mean())
    return dict(sorted(results.items()))


def tables(frame: pd.DataFrame, runs: dict[str, dict], results: dict[str, float]):
    """The one-step predictions with their interval (for the plots), and test RMSE per model and step."""
    parts = []
    for split, run in runs.items():
        lstm, half = run["forecasts"]["lstm"][:, 0], run["half_width"][:, 0]
        part = pd.DataFrame({"t": run["starts"], "split": split, "actual": run["actual"][:, 0], "predicted": lstm,
                             "lower": lstm - half, "upper": lstm + half})
        if "time" in frame:
            part.insert(1, "time", frame["time"].iloc[run["starts"]].astype(str).to_numpy())
        parts.append(part)
    horizon = runs["test"]["actual"].shape[1]
    models = list(runs["test"]["forecasts"])
    suffix = (lambda h: f"_h{h}") if horizon > 1 else (lambda h: "")
    by_step = pd.DataFrame({"h": np.arange(1, horizon + 1)} | {
        m: [results[f"test_{m}_rmse{suffix(h)}"] for h in range(1, horizon + 1)] for m in models})
    return pd.concat(parts, ignore_index=True), by_step


def run(
    params: EvaluateParams, scaled_path: Path, stats_path: Path, windows_path: Path, model_path: Path,
    metrics_out: Path, predictions_out: Path, horizon_out: Path,
) -> None:
    torch.set_num_threads(1)
    device = resolve_device(params.device, "evaluate.device")
    frame = read_parquet(scaled_path)
    stats, index = read_json(stats_path), read_json(windows_path)
    model, ckpt = load_checkpoint(model_path)
    trained = (ckpt.get("time_step"), ckpt.get("target"), ckpt.get("horizon"))
    wanted = (index["time_step"], index["target"], index["horizon"])
    if trained != wanted:
        raise UserError(
            f"{model_path} was trained on windows of (time_step, target, horizon) = {trained} but {windows_path} "
            f"has {wanted}; rerun train (dvc repro)"
        )
    log.info("LSTM kernel: %s", model.kernels(device)["forecasting"])  # load_checkpoint returns it in eval mode
    values = frame["value"].to_numpy(dtype=np.float64)
    train_lo, train_hi = stats["splits"]["train"]
    scale = metrics.naive_scale(values[train_lo:train_hi])  # MASE's denominator: training span only
    started = time.perf_counter()
    runs = backtest(frame, index, stats, model, ckpt["strategy"], params, scale, device)
    origins = sum(len(run["starts"]) for run in runs.values())
    log.info("backtest: %d origins x %d steps, 4 models, in %.2f s", origins, index["horizon"],
             time.perf_counter() - started)
    results = score_splits(runs, scale, params.interval)
    results["mase_scale"] = scale
    predictions, by_step = tables(frame, runs, results)
    write_json(metrics_out, results)  # keys sorted on writing
    write_csv(predictions_out, predictions)
    write_csv(horizon_out, by_step)
    for split in SCORED_SPLITS:
        log.info("%s RMSE (mean over steps): %s; LSTM skill vs persistence %.3f", split,
                 ", ".join(f"{m} {results[f'{split}_{m}_rmse']:.3f}" for m in runs[split]["forecasts"]),
                 results[f"{split}_lstm_skill"])
    models = list(runs["test"]["forecasts"])
    log.info("test winners: %s", ", ".join(
        f"{metric} {min(models, key=lambda m: results[f'test_{m}_{metric}'])}" for metric in metrics.METRICS))
    log.info("%.0f%% interval on test: coverage %.3f, mean width %.2f", 100 * params.interval,
             results["test_lstm_coverage"], results["test_lstm_width"])


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'evaluate')")
    parser.add_argument("--scaled", required=True, type=Path, help="scaled series from normalize, Parquet")
    parser.add_argument("--stats", required=True, type=Path, help="scaler and split bounds from normalize, JSON")
    parser.add_argument("--windows", required=True, type=Path, help="window index from window, JSON")
    parser.add_argument("--model", required=True, type=Path, help="checkpoint from train")
    parser.add_argument("--metrics", required=True, type=Path, help="metrics to write, JSON")
    parser.add_argument("--predictions", required=True, type=Path, help="one-step predictions to write, CSV")
    parser.add_argument("--horizon", required=True, type=Path, help="test RMSE per model and step to write, CSV")
    args = parser.parse_args(argv)
    check_outputs(args.metrics, args.predictions, args.horizon)  # a bad path fails before any work is done
    run(
        load_section(EvaluateParams, "evaluate", args.params), args.scaled, args.stats, args.windows,
        args.model, args.metrics, args.predictions, args.horizon,
    )


if __name__ == "__main__":
    raise SystemExit(main())
