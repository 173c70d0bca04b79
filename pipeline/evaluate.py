"""Evaluate: one-step-ahead forecasts on validation and test in original units, scored against two baselines."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pipeline import metrics
from pipeline.errors import UserError, stage_main
from pipeline.files import read_json, read_parquet, write_csv, write_json
from pipeline.model import LSTMForecaster, load_checkpoint, one_step_forecasts
from pipeline.params import load_section, require
from pipeline.scaling import Scaler
from pipeline.window import Windows

log = logging.getLogger("evaluate")

SCORED_SPLITS = ("val", "test")


@dataclass(frozen=True)
class EvaluateParams:
    # The shipped monthly sunspot series cycles about every 11 years = 132 months.
    season: int = 132

    def validate(self) -> None:
        require(self.season >= 1, f"evaluate.season={self.season} should be >= 1")


def evaluate(
    frame: pd.DataFrame, stats: dict, index: dict, model: LSTMForecaster, params: EvaluateParams
) -> tuple[dict[str, float], pd.DataFrame]:
    """Metrics keyed ``<split>_<model>_<metric>`` and the predictions table (t, time, split, actual, ...)."""
    values = frame["value"].to_numpy(dtype=np.float64)
    scaler = Scaler.from_json(stats["scaler"])
    train_lo, train_hi = stats["splits"]["train"]
    scale = metrics.naive_scale(values[train_lo:train_hi])
    first_target = min(index["ends"][s][0] for s in SCORED_SPLITS)
    if params.season > first_target:
        raise UserError(
            f"evaluate.season={params.season} reaches before the start of the series: the first scored point is "
            f"t={first_target}; use a season <= {first_target}"
        )
    series = torch.tensor(frame["scaled"].to_numpy(), dtype=torch.float32)
    results: dict[str, float] = {}
    tables = []
    for split in SCORED_SPLITS:
        lo, hi = index["ends"][split]
        targets = np.arange(lo, hi)
        windows = Windows(series, (lo, hi), index["time_step"], "last")
        forecasts = {
            "lstm": scaler.inverse(one_step_forecasts(model, windows).double().numpy()),
            "persistence": metrics.persistence(values, targets),
            "seasonal_naive": metrics.seasonal_naive(values, targets, params.season),
        }
        actual = values[targets]
        for name, predicted in forecasts.items():
            for metric, value in metrics.score(actual, predicted, scale).items():
                results[f"{split}_{name}_{metric}"] = value
        results[f"{split}_points"] = len(targets)
        table = pd.DataFrame({"t": targets, "split": split, "actual": actual, "predicted": forecasts["lstm"]})
        if "time" in frame:
            table.insert(1, "time", frame["time"].iloc[targets].astype(str).to_numpy())
        tables.append(table)
    results["mase_scale"] = scale
    return dict(sorted(results.items())), pd.concat(tables, ignore_index=True)


def run(
    params: EvaluateParams, scaled_path: Path, stats_path: Path, windows_path: Path, model_path: Path,
    metrics_out: Path, predictions_out: Path,
) -> None:
    torch.set_num_threads(1)
    frame = read_parquet(scaled_path)
    stats, index = read_json(stats_path), read_json(windows_path)
    model, ckpt = load_checkpoint(model_path)
    if (ckpt.get("time_step"), ckpt.get("target")) != (index["time_step"], index["target"]):
        raise UserError(
            f"{model_path} was trained on windows of time_step={ckpt.get('time_step')}, target={ckpt.get('target')!r} "
            f"but {windows_path} has time_step={index['time_step']}, target={index['target']!r}; rerun train (dvc repro)"
        )
    results, table = evaluate(frame, stats, index, model, params)
    write_json(metrics_out, results)
    write_csv(predictions_out, table)
    for split in SCORED_SPLITS:
        log.info(
            "%s RMSE: lstm %.3f, persistence %.3f, seasonal naive %.3f", split, results[f"{split}_lstm_rmse"],
            results[f"{split}_persistence_rmse"], results[f"{split}_seasonal_naive_rmse"],
        )


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'evaluate')")
    parser.add_argument("--scaled", required=True, type=Path, help="scaled series from normalize, Parquet")
    parser.add_argument("--stats", required=True, type=Path, help="scaler and split bounds from normalize, JSON")
    parser.add_argument("--windows", required=True, type=Path, help="window index from window, JSON")
    parser.add_argument("--model", required=True, type=Path, help="checkpoint from train")
    parser.add_argument("--metrics", required=True, type=Path, help="metrics to write, JSON")
    parser.add_argument("--predictions", required=True, type=Path, help="predictions table to write, CSV")
    args = parser.parse_args(argv)
    run(
        load_section(EvaluateParams, "evaluate", args.params), args.scaled, args.stats, args.windows,
        args.model, args.metrics, args.predictions,
    )


if __name__ == "__main__":
    raise SystemExit(main())
