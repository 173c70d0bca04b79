"""Forecast: the next S values after the end of the series, in calendar time, with conformal bands per step;
the model that made them, for `pipeline.predict`, and its ONNX export."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lstm_forecast.evaluation import metrics
from lstm_forecast.data.artifacts import CheckpointMeta, Normalization, SeriesInfo, WindowIndex
from lstm_forecast.model.checkpoint import load_trained_on, save_checkpoint
from lstm_forecast.errors import UserError, param_errors, stage_main
from lstm_forecast.config.feasibility import Bands, forecast_steps
from lstm_forecast.model.export import onnx_bytes, onnx_constants
from lstm_forecast.figures import future_figure, save, time_unit
from lstm_forecast.data.files import atomic_path, check_outputs, read_parquet, write_csv, write_json
from lstm_forecast.future.bands import Inputs, calibrate, forecast_future, level_name, series_times, stamp_text
from lstm_forecast.evaluation.intervals import local_scale
from lstm_forecast.model.network import resolve_device
from lstm_forecast.config.params import load_section
from lstm_forecast.prep.scaling import fit_scaler
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.forecast import ForecastParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.model.training import Diverged, refit
from lstm_forecast.prep.windows import Windows

log = logging.getLogger("forecast")

# The figure and its DVC plot show the last HISTORY_PER_STEP * S observed values before the forecast.
HISTORY_PER_STEP = 4
FIGURE_DPI = 100


def refit_model(values: np.ndarray, times: pd.Series | None, norm: Normalization, index: WindowIndex,
                meta: CheckpointMeta, freq: str | None, steps: int, train: TrainParams, outputs: int):
    """The model retrained on the whole series, and its normalization: the scaler refitted on the whole series."""
    n = len(values)
    with param_errors("normalize"):
        # Without the first point's change when differenced: it is no change, as in scale_series.
        # Clipped to the training span's outlier bounds, as the model was trained (normalize.outliers).
        scaler = fit_scaler(norm.modelled(values)[int(norm.difference):], norm.scaler.method)
    # All of it is training now; empty validation and test spans at the end.
    whole = Normalization(n, {"train": (0, n), "val": (n, n), "test": (n, n)}, scaler, norm.difference,
                          norm.difference_test, norm.clip)
    inputs = Inputs.build(values, times, whole, index.calendar, freq, steps)
    with param_errors("train"):
        device = resolve_device(train.device)
    # The batch size train resolved for its training windows: the same members again on the same windows.
    train = train.for_windows(index.origins["train"][1] - index.origins["train"][0])
    horizon = index.horizon if meta.strategy == "direct" else 1
    features = None if inputs.features is None else inputs.features[:n].to(device)
    windows = Windows(inputs.z[:n].to(device), (index.time_step, n - horizon + 1), index.time_step, index.target,
                      horizon, 1, index.scale_windows, features)
    try:
        with param_errors("train"):
            model = refit(windows, train, meta.best_epochs, outputs, device).cpu()
    except Diverged as err:
        raise UserError(f"{err} when retraining on the whole series; lower train.lr (now {train.lr:g}) or use "
                        "forecast.refit: none; nothing was saved") from None
    return model, whole


def run(params: ForecastParams, evaluate: EvaluateParams, train: TrainParams, paths: argparse.Namespace) -> None:
    started = time.perf_counter()
    torch.set_num_threads(train.threads)
    frame, info = read_parquet(paths.series), SeriesInfo.read(paths.info)
    norm, index = Normalization.read(paths.stats), WindowIndex.read(paths.windows)
    model, meta = load_trained_on(paths.model, paths.windows, index)
    trained = (model.config.hidden_size, model.config.num_layers, model.config.dropout, bool(model.config.highway),
               len(meta.best_epochs), meta.strategy)
    if params.refit == "all" and trained != (train.hidden_size, train.num_layers, train.dropout, train.highway,
                                             train.ensemble, train.strategy):
        raise UserError(f"{paths.model} was trained with other train params than {paths.params}'s (hidden_size, "
                        f"num_layers, dropout, highway, ensemble, strategy: {trained}), so it cannot say how long to "
                        "retrain; rerun train (dvc repro)")
    test_lo, test_hi = norm.splits["test"]
    evaluate, stride_line = evaluate.resolve_stride(index.origins)
    steps, line = forecast_steps(params.steps, test_hi - test_lo, norm.splits["val"][1] - norm.splits["val"][0],
                                 index.horizon, meta.strategy,
                                 Bands(evaluate.interval_method, params.levels, evaluate.stride))
    for line in (line, stride_line):
        if line:
            log.info("%s", line)
    values = frame["value"].to_numpy(dtype=np.float64)
    times = series_times(frame)
    freq = info.freq if times is not None else None
    n = len(values)
    train_lo, train_hi = norm.splits["train"]
    floor = 0.1 * metrics.naive_scale(values[train_lo:train_hi])  # as evaluate floors its volatility
    with param_errors("window"):
        inputs = Inputs.build(values, times, norm, index.calendar, freq, steps)
    clock = time.perf_counter()
    with param_errors("evaluate", {"window": "interval_window"}):
        cal = calibrate(model, meta.strategy, inputs, norm, index.time_step, index.scale_windows,
                        index.origins["val"][0], steps, evaluate.interval_window, floor, evaluate.stride)
    seconds = {"backtest": time.perf_counter() - clock}
    clock = time.perf_counter()
    if params.refit == "all":
        future_model, future_norm = refit_model(values, times, norm, index, meta, freq, steps, train,
                                                model.config.output_size)
    else:
        future_model, future_norm = model, norm
    with param_errors("forecast", {"level": "levels"}, hint="fewer validation and test forecasts than the level "
                      "needs: lower the level or lengthen normalize.val"):
        half = {lv: cal.future_half_widths(lv, evaluate.interval_method, evaluate.interval_gamma, n)
                for lv in params.levels}
        coverage = {lv: cal.test_coverage(lv, evaluate.interval_method, evaluate.interval_gamma)
                    for lv in params.levels}
    table = forecast_future(future_model, meta, future_norm, values, times, freq, steps, half,
                            evaluate.interval_window, floor)
    volatility = float(local_scale(values, np.array([n]), evaluate.interval_window, floor)[0])

    seconds["refit"] = time.perf_counter() - clock
    bands = {level_name(lv): [float(q) for q in half[lv]] for lv in params.levels}
    extra = {"normalization": future_norm.to_json(), "column": info.column, "steps": steps,
             "levels": list(params.levels), "bands": bands, "interval_window": evaluate.interval_window,
             "volatility_floor": floor, "interval_method": evaluate.interval_method}
    clock = time.perf_counter()
    graph = onnx_bytes(future_model, index.time_step)
    seconds["export"] = time.perf_counter() - clock
    recent = min(n, HISTORY_PER_STEP * steps)
    history = pd.DataFrame({"step": np.arange(1 - recent, 1), "actual": values[n - recent:]})
    if times is not None and freq is not None:
        history.insert(0, "time", stamp_text(pd.DatetimeIndex(times.iloc[n - recent:])))
    by_step = pd.DataFrame({"step": np.arange(1, steps + 1)}
                           | {f"coverage_{level_name(lv)}": coverage[lv] for lv in params.levels})
    results = {f"test_band{level_name(lv)}_coverage": float(coverage[lv].mean()) for lv in params.levels}
    results |= {f"band{level_name(lv)}_width": float(2 * half[lv].mean() * volatility) for lv in params.levels}
    figure = future_figure(history, table, params.levels, time_unit(freq), info.column)

    # Everything is computed: the writes come last, so a failure before them leaves every output as it was.
    save_checkpoint(paths.out_model, future_model, meta, extra | {"freq": freq})
    with atomic_path(paths.onnx) as tmp:
        tmp.write_bytes(graph)
    write_json(paths.onnx_meta, onnx_constants(meta, future_norm, freq, extra))
    write_csv(paths.forecast, table)
    write_csv(paths.history, history)
    write_csv(paths.coverage, by_step)
    write_json(paths.metrics, results)
    save(figure, paths.figure, FIGURE_DPI)

    where = (f"from {table['time'].iloc[0]} to {table['time'].iloc[-1]} ({freq})" if "time" in table
             else f"steps 1..{steps} after the last of {n} values (no calendar)")
    log.info("forecast of %d steps %s, by %s", steps, where,
             "the model retrained on the whole series" if params.refit == "all" else "the evaluated model")
    log.info("bands (%s conformal, from %d validation and test origins): test coverage, calibrated on "
             "validation only, mean over steps %s", evaluate.interval_method, len(cal.origins),
             ", ".join(f"{coverage[lv].mean():.3f} at {lv:g}" for lv in params.levels))
    log.info("wrote %s, %s and %s in %.1f s (rolling-origin forecasts %.1f s, %s %.1f s, ONNX export %.1f s)",
             paths.forecast, paths.out_model, paths.onnx, time.perf_counter() - started, seconds["backtest"],
             "retraining" if params.refit == "all" else "the forecast", seconds["refit"], seconds["export"])


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
