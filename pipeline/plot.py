"""Plot: draw the series with one-step forecasts over validation and test, and the loss curves, as PNG files.

Reads series.json for the axes: the series' name and its time unit."""
from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.errors import UserError
from lstm_forecast.figures import forecast_figure, loss_figure, save, time_unit
from lstm_forecast.data.files import check_outputs, read_parquet
from lstm_forecast.config.params import load_section
from lstm_forecast.config.plot import PlotParams
from pipeline.edge import stage_main

log = logging.getLogger("plot")


def read_curves(live_dir: Path) -> pd.DataFrame:
    frames = []
    for name in ("train_loss", "val_loss"):
        path = live_dir / "plots" / "metrics" / f"{name}.tsv"
        if not path.is_file():
            raise UserError(f"{path}: loss curve not found (run the train stage first: dvc repro)")
        frames.append(pd.read_csv(path, sep="\t").set_index("step")[[name]])
    return pd.concat(frames, axis=1).reset_index()


def read_best_epoch(live_dir: Path) -> int | None:
    summary = live_dir / "metrics.json"
    return json.loads(summary.read_text()).get("best_epoch") if summary.is_file() else None


def run(params: PlotParams, scaled_path: Path, info_path: Path, predictions_path: Path, live_dir: Path,
        forecast_out: Path, loss_out: Path) -> None:
    series, info = read_parquet(scaled_path), SeriesInfo.read(info_path)
    if not predictions_path.is_file():
        raise UserError(f"{predictions_path}: predictions not found (run the evaluate stage first: dvc repro)")
    predictions = pd.read_csv(predictions_path)
    curves = read_curves(live_dir)
    size = (params.width, params.height)
    save(forecast_figure(series, predictions, size, time_unit(info.freq), info.column), forecast_out, params.dpi)
    save(loss_figure(curves, read_best_epoch(live_dir), size), loss_out, params.dpi)
    log.info("wrote %s and %s", forecast_out, loss_out)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'plot')")
    parser.add_argument("--scaled", required=True, type=Path, help="series with split labels from normalize")
    parser.add_argument("--info", required=True, type=Path,
                        help="what ingest found about the series, JSON (the axes' unit and name)")
    parser.add_argument("--predictions", required=True, type=Path, help="predictions table from evaluate, CSV")
    parser.add_argument("--live", required=True, type=Path, help="dvclive folder written by train")
    parser.add_argument("--forecast", required=True, type=Path, help="forecast figure to write, PNG")
    parser.add_argument("--loss", required=True, type=Path, help="loss figure to write, PNG")
    args = parser.parse_args(argv)
    check_outputs(args.forecast, args.loss)  # a bad path fails before any work is done
    run(load_section(PlotParams, "plot", args.params), args.scaled, args.info, args.predictions, args.live,
        args.forecast, args.loss)


if __name__ == "__main__":
    raise SystemExit(main())
