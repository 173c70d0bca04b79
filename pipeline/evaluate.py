"""Evaluate: rolling-origin forecasts on validation and test, scored against the baselines, with intervals.

Reads series.json for the frequency ``season: auto`` goes by."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from lstm_forecast.evaluation import metrics
from lstm_forecast.data.artifacts import Normalization, SeriesInfo, WindowIndex
from lstm_forecast.evaluation.assess import assess
from lstm_forecast.evaluation.backtest import SCORED_SPLITS
from lstm_forecast.model.checkpoint import load_trained_on
from lstm_forecast.errors import param_errors
from lstm_forecast.data.files import check_outputs, read_parquet, write_csv, write_json
from lstm_forecast.model.network import resolve_device
from lstm_forecast.config.feasibility import check_season
from lstm_forecast.config.params import load_section
from lstm_forecast.config.keys import EVALUATE_KEYS
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.evaluation.scoring import tables
from lstm_forecast.evaluation.verdicts import verdict, winner
from pipeline.edge import stage_main

log = logging.getLogger("evaluate")


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
    log.info("%.0f%% %s interval on test: coverage %.3f, mean width %.2f, interval score (MSIS) %.3f",
             100 * params.interval, params.interval_method, results["test_lstm_coverage"], results["test_lstm_width"],
             results["test_lstm_msis"])


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
    check_season(index.horizon, params.season, given)
    model, meta = load_trained_on(model_path, windows_path, index)
    log.info("LSTM kernel: %s", model.kernels(device)["forecasting"])  # load_checkpoint returns it in eval mode
    started = time.perf_counter()
    with param_errors("evaluate", EVALUATE_KEYS):
        runs, results = assess(frame, norm, index, model, meta.strategy, params, device)
    origins = sum(len(run["origins"]) for run in runs.values())
    log.info("backtest: %d origins x %d steps, %d models, in %.2f s", origins, index.horizon,
             len(runs["test"]["forecasts"]), time.perf_counter() - started)
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
