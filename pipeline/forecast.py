"""Forecast: the next S values after the end of the series, in calendar time, with conformal bands per step;
the model that made them, for `pipeline.predict`, and its ONNX export."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.forecast import ForecastParams
from lstm_forecast.config.params import load_section
from lstm_forecast.config.keys import FORECAST_KEYS
from lstm_forecast.config.plan import plan_future, refit_mismatch
from lstm_forecast.config.train import TrainParams
from lstm_forecast.data.artifacts import Normalization, SeriesInfo, WindowIndex
from lstm_forecast.data.files import atomic_path, check_outputs, read_parquet, write_csv, write_json
from lstm_forecast.errors import UserError, param_errors
from lstm_forecast.figures import future_figure, save, time_unit
from lstm_forecast.future.bands import series_times
from lstm_forecast.future.make import make_future, summaries
from lstm_forecast.model.checkpoint import load_trained_on
from lstm_forecast.model.export import onnx_bytes, onnx_constants
from lstm_forecast.model.network import resolve_device
from lstm_forecast.model.training import Diverged
from pipeline.edge import stage_main

log = logging.getLogger("forecast")

# The figure and its DVC plot show the last HISTORY_PER_STEP * S observed values before the forecast.
HISTORY_PER_STEP = 4
FIGURE_DPI = 100


def run(params: ForecastParams, evaluate: EvaluateParams, train: TrainParams, paths: argparse.Namespace) -> None:
    started = time.perf_counter()
    torch.set_num_threads(train.threads)
    frame, info = read_parquet(paths.series), SeriesInfo.read(paths.info)
    norm, index = Normalization.read(paths.stats), WindowIndex.read(paths.windows)
    model, meta = load_trained_on(paths.model, paths.windows, index)
    if params.refit == "all" and (trained := refit_mismatch(model, meta, train)):
        raise UserError(f"{paths.model} was trained with other train params than {paths.params}'s (hidden_size, "
                        f"num_layers, dropout, highway, ensemble, strategy: {trained}), so it cannot say how long to "
                        "retrain; rerun train (dvc repro)")
    steps, evaluate, lines = plan_future(params, evaluate, norm, index, meta.strategy)
    for line in lines:
        log.info("%s", line)
    with param_errors("train", FORECAST_KEYS):
        device = resolve_device(train.device) if params.refit == "all" else None
        try:
            future, honesty = make_future(model, meta, frame, info.freq, info.column, norm, index, evaluate,
                                          params.levels, steps, train if params.refit == "all" else None, device)
        except Diverged as err:
            raise UserError(f"{err} when retraining on the whole series; lower train.lr (now {train.lr:g}) or use "
                            "forecast.refit: none; nothing was saved") from None
    values, times = frame["value"].to_numpy(dtype=np.float64), series_times(frame)
    table = future.forecast(values, times, future.freq)
    clock = time.perf_counter()
    graph = onnx_bytes(future.model, index.time_step)
    export_seconds = time.perf_counter() - clock
    history, by_step, results = summaries(values, times, future, honesty, HISTORY_PER_STEP * steps)
    figure = future_figure(history, table, params.levels, time_unit(future.freq), info.column)

    # Everything is computed: the writes come last, so a failure before them leaves every output as it was.
    future.save(paths.out_model)
    with atomic_path(paths.onnx) as tmp:
        tmp.write_bytes(graph)
    write_json(paths.onnx_meta, onnx_constants(meta, future.normalization, future.freq, future.constants()))
    write_csv(paths.forecast, table)
    write_csv(paths.history, history)
    write_csv(paths.coverage, by_step)
    write_json(paths.metrics, results)
    save(figure, paths.figure, FIGURE_DPI)

    where = (f"from {table['time'].iloc[0]} to {table['time'].iloc[-1]} ({future.freq})" if "time" in table
             else f"steps 1..{steps} after the last of {len(values)} values (no calendar)")
    log.info("forecast of %d steps %s, by %s", steps, where,
             "the model retrained on the whole series" if params.refit == "all" else "the evaluated model")
    log.info("bands (%s conformal, from %d validation and test origins): test coverage, calibrated on "
             "validation only, mean over steps %s", evaluate.interval_method, honesty.origins,
             ", ".join(f"{honesty.coverage[lv].mean():.3f} at {lv:g} (interval score {honesty.msis[lv].mean():.3f})"
                       for lv in params.levels))
    log.info("wrote %s, %s and %s in %.1f s (rolling-origin forecasts %.1f s, %s %.1f s, ONNX export %.1f s)",
             paths.forecast, paths.out_model, paths.onnx, time.perf_counter() - started,
             honesty.seconds["backtest"], "retraining" if params.refit == "all" else "the forecast",
             honesty.seconds["refit"], export_seconds)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (sections 'forecast', 'train', "
                        "'evaluate')")
    parser.add_argument("--series", required=True, type=Path, help="tidy series from ingest, Parquet")
    parser.add_argument("--info", required=True, type=Path, help="ingest's record of the series, JSON")
    parser.add_argument("--stats", required=True, type=Path, help="scaler and split bounds from normalize, JSON")
    parser.add_argument("--windows", required=True, type=Path, help="window index from window, JSON")
    parser.add_argument("--model", required=True, type=Path, help="checkpoint from train (the evaluated model)")
    parser.add_argument("--forecast", required=True, type=Path, help="the forecast to write, CSV")
    parser.add_argument("--history", required=True, type=Path, help="the recent values to plot with it, CSV")
    parser.add_argument("--metrics", required=True, type=Path, help="band coverage and widths to write, JSON")
    parser.add_argument("--coverage", required=True, type=Path, help="test coverage per step to write, CSV")
    parser.add_argument("--figure", required=True, type=Path, help="the forecast figure to write, PNG")
    parser.add_argument("--out-model", required=True, type=Path, help="the forecasting model to write, for predict")
    parser.add_argument("--onnx", required=True, type=Path, help="the network to write, ONNX")
    parser.add_argument("--onnx-meta", required=True, type=Path, help="its pre/post-processing constants, JSON")
    args = parser.parse_args(argv)
    check_outputs(args.forecast, args.history, args.metrics, args.coverage, args.figure, args.out_model, args.onnx,
                  args.onnx_meta)  # a bad path fails before any work is done
    run(load_section(ForecastParams, "forecast", args.params), load_section(EvaluateParams, "evaluate", args.params),
        load_section(TrainParams, "train", args.params), args)


if __name__ == "__main__":
    raise SystemExit(main())
