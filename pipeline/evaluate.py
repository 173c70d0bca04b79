"""Evaluate: rolling-origin forecasts on validation and test, scored against the baselines, with intervals.

Reads series.json for the frequency ``season: auto`` goes by."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lstm_forecast.evaluation import metrics
from lstm_forecast.data.artifacts import Normalization, SeriesInfo, WindowIndex
from lstm_forecast.evaluation.backtest import SCORED_SPLITS, backtest
from lstm_forecast.model.checkpoint import load_trained_on
from lstm_forecast.errors import UserError, param_errors, stage_main
from lstm_forecast.data.files import check_outputs, read_parquet, write_csv, write_json
from lstm_forecast.model.network import resolve_device
from lstm_forecast.config.params import load_section
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.evaluation.scoring import ALPHA, score_splits, tables
from lstm_forecast.prep.windows import series_tensors

log = logging.getLogger("evaluate")


def verdict(model: str, lstm_rmse: float, other_rmse: float, p: float) -> str:
    """Which of the LSTM and ``model`` is better when the difference is significant, with its p-value; the
    winner is named first ("LSTM better than persistence"), never left to be read off the word order."""
    if p >= ALPHA:
        return f"{model} no significant difference (p {p:.3f})"
    if lstm_rmse < other_rmse:
        return f"LSTM better than {model} (p {p:.3f})"
    return f"{model} better than the LSTM (p {p:.3f})"


def winner(results: dict[str, float], models: list[str], metric: str) -> str:
    """``metric``'s best model on test, and whether it differs significantly from the LSTM (squared errors)."""
    best = min(models, key=lambda m: results[f"test_{m}_{metric}"])
    if best == "lstm":
        return f"{metric} lstm"
    p = results[f"test_lstm_vs_{best}_dm_p"]
    return f"{metric} {best}" + (f" (no significant difference from the LSTM, p {p:.3f})" if p >= ALPHA else "")


def guard(results: dict[str, float]) -> str | None:
    """A warning when the LSTM does worse than repeating the last value on validation, with what to try."""
    lstm, naive = results["val_lstm_mase"], results["val_persistence_mase"]
    if lstm <= naive or naive == 0:  # persistence exact (a constant span): nothing to try, skill says so
        return None
    return (f"the LSTM is worse than persistence on validation (MASE {lstm:.3f} against {naive:.3f}): try "
            "normalize.difference: true (the model then forecasts changes, so it can reach levels it never saw "
            "in training), a shorter window.time_step, or train.patience; or use persistence")


def log_summary(results: dict[str, float], models: list[str], params: EvaluateParams) -> None:
    for split in SCORED_SPLITS:
        skill = results.get(f"{split}_lstm_skill")
        log.info("%s RMSE (mean over steps): %s; LSTM skill vs persistence %s", split,
                 ", ".join(f"{m} {results[f'{split}_{m}_rmse']:.3f}" for m in models),
                 "undefined" if skill is None else f"{skill:.3f}")
        if skill is None:
            log.warning("%s_lstm_skill left out of the metrics: persistence is exact on the %s span (MASE 0, as on "
                        "a constant span), so there is no error to measure skill against", split, split)
    if (warning := guard(results)) is not None:
        log.warning("%s", warning)
    log.info("test winners: %s", ", ".join(winner(results, models, metric) for metric in metrics.METRICS))
    log.info("test, LSTM against each model (Diebold-Mariano, squared errors): %s", "; ".join(
        verdict(m, results["test_lstm_rmse"], results[f"test_{m}_rmse"], results[f"test_lstm_vs_{m}_dm_p"])
        for m in models if m != "lstm"))
    log.info("%.0f%% %s interval on test: coverage %.3f, mean width %.2f", 100 * params.interval,
             params.interval_method, results["test_lstm_coverage"], results["test_lstm_width"])


def run(
    params: EvaluateParams, scaled_path: Path, stats_path: Path, info_path: Path, windows_path: Path,
    model_path: Path, metrics_out: Path, predictions_out: Path, horizon_out: Path,
) -> None:
    torch.set_num_threads(1)
    with param_errors("evaluate"):
        device = resolve_device(params.device)
    frame = read_parquet(scaled_path)
    norm, index = Normalization.read(stats_path), WindowIndex.read(windows_path)
    given = params.season
    params, line = params.resolve_season(SeriesInfo.read(info_path).freq)
    params, stride_line = params.resolve_stride(index.origins)
    for line in (line, stride_line):
        if line is not None:
            log.info("%s", line)
    if index.horizon > params.season:
        # Step h = season would be the value at the origin itself: not yet observed there.
        season = given if given == params.season else f"{given} ({params.season})"
        raise UserError(f"window.horizon={index.horizon} is longer than evaluate.season={season}: the seasonal "
                        "naive forecast would read values after its origin; use a season >= horizon")
    model, meta = load_trained_on(model_path, windows_path, index)
    log.info("LSTM kernel: %s", model.kernels(device)["forecasting"])  # load_checkpoint returns it in eval mode
    values = frame["value"].to_numpy(dtype=np.float64)
    train_lo, train_hi = norm.splits["train"]
    scale = metrics.naive_scale(values[train_lo:train_hi])  # MASE's denominator: training span only
    started = time.perf_counter()
    with param_errors("window"):
        _, features = series_tensors(frame, index)
    with param_errors("evaluate", {"window": "interval_window", "lstm_kernel": "train.lstm_kernel"}):
        runs = backtest(values, frame["scaled"].to_numpy(dtype=np.float64), norm, index, model, meta.strategy,
                        params, scale, device, features)
    origins = sum(len(run["origins"]) for run in runs.values())
    log.info("backtest: %d origins x %d steps, %d models, in %.2f s", origins, index.horizon,
             len(runs["test"]["forecasts"]),
             time.perf_counter() - started)
    with param_errors("evaluate", {"level": "interval"}, hint="lower evaluate.interval or evaluate.stride"):
        results = score_splits(runs, scale, params.interval, params.stride, params.interval_method,
                               params.interval_gamma)
    results["mase_scale"] = scale
    predictions, by_step = tables(frame, runs, results)
    write_json(metrics_out, results)  # keys sorted on writing
    write_csv(predictions_out, predictions)
    write_csv(horizon_out, by_step)
    log_summary(results, list(runs["test"]["forecasts"]), params)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'evaluate')")
    parser.add_argument("--scaled", required=True, type=Path, help="scaled series from normalize, Parquet")
    parser.add_argument("--stats", required=True, type=Path, help="scaler and split bounds from normalize, JSON")
    parser.add_argument("--info", required=True, type=Path, help="what ingest found about the series, JSON")
    parser.add_argument("--windows", required=True, type=Path, help="window index from window, JSON")
    parser.add_argument("--model", required=True, type=Path, help="checkpoint from train")
    parser.add_argument("--metrics", required=True, type=Path, help="metrics to write, JSON")
    parser.add_argument("--predictions", required=True, type=Path, help="one-step predictions to write, CSV")
    parser.add_argument("--horizon", required=True, type=Path, help="test RMSE per model and step to write, CSV")
    args = parser.parse_args(argv)
    check_outputs(args.metrics, args.predictions, args.horizon)  # a bad path fails before any work is done
    run(
        load_section(EvaluateParams, "evaluate", args.params), args.scaled, args.stats, args.info, args.windows,
        args.model, args.metrics, args.predictions, args.horizon,
    )


if __name__ == "__main__":
    raise SystemExit(main())
