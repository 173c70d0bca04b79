"""Plot: draw the series with one-step forecasts over validation and test, and the loss curves, as PNG files."""
from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or in `dvc repro`
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.errors import UserError, stage_main  # noqa: E402
from pipeline.files import atomic_path, check_outputs, read_parquet  # noqa: E402
from pipeline.params import load_section, require  # noqa: E402

log = logging.getLogger("plot")

SPAN_COLORS = {"val": "tab:orange", "test": "tab:green"}
# PNG text chunks would otherwise name the matplotlib version; keep files comparable across upgrades.
PNG_METADATA = {"Software": None}


@dataclass(frozen=True)
class PlotParams:
    width: float = 12.0
    height: float = 5.0
    dpi: int = 100

    def validate(self) -> None:
        require(0 < self.width <= 100, f"plot.width={self.width} should be in (0, 100] inches")
        require(0 < self.height <= 100, f"plot.height={self.height} should be in (0, 100] inches")
        require(10 <= self.dpi <= 1200, f"plot.dpi={self.dpi} should be between 10 and 1200")


def forecast_figure(series: pd.DataFrame, predictions: pd.DataFrame, params: PlotParams) -> plt.Figure:
    """The whole series in original units, the LSTM's one-step forecasts, validation and test spans shaded."""
    fig, ax = plt.subplots(figsize=(params.width, params.height))
    has_time = "time" in series
    x = series["time"] if has_time else pd.Series(np.arange(len(series)))
    ax.plot(x, series["value"], color="0.3", linewidth=0.8, label="actual")
    pred_x = x.iloc[predictions["t"]]
    ax.fill_between(pred_x, predictions["lower"], predictions["upper"], color="tab:red", alpha=0.18, linewidth=0,
                    label="prediction interval")
    ax.plot(pred_x, predictions["predicted"], color="tab:red", linewidth=0.9, label="LSTM one-step forecast")
    for split, color in SPAN_COLORS.items():
        rows = np.flatnonzero(series["split"].to_numpy() == split)
        if len(rows):
            ax.axvspan(x.iloc[rows[0]], x.iloc[rows[-1]], color=color, alpha=0.12, label=f"{split} span")
    ax.set_xlabel("time" if has_time else "step")
    ax.set_ylabel("value")
    ax.set_title("One-step-ahead forecasts")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def loss_figure(curves: pd.DataFrame, best_epoch: int | None, params: PlotParams) -> plt.Figure:
    """Loss per epoch (dvclive counts steps from 0) and the epoch whose weights were kept."""
    fig, ax = plt.subplots(figsize=(params.width, params.height))
    for column, label in (("train_loss", "train (training objective)"), ("val_loss", "validation (one-step MSE)")):
        ax.plot(curves["step"] + 1, curves[column], label=label)
    if best_epoch:
        ax.axvline(best_epoch, color="0.5", linestyle="--", linewidth=0.8, label=f"kept: epoch {best_epoch}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE, scaled units")
    ax.set_title("Loss curves")
    ax.legend()
    fig.tight_layout()
    return fig


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


def save(fig: plt.Figure, path: Path, dpi: int) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata=PNG_METADATA)
    plt.close(fig)


def run(params: PlotParams, scaled_path: Path, predictions_path: Path, live_dir: Path, forecast_out: Path,
        loss_out: Path) -> None:
    series = read_parquet(scaled_path)
    if not predictions_path.is_file():
        raise UserError(f"{predictions_path}: predictions not found (run the evaluate stage first: dvc repro)")
    predictions = pd.read_csv(predictions_path)
    curves = read_curves(live_dir)
    save(forecast_figure(series, predictions, params), forecast_out, params.dpi)
    save(loss_figure(curves, read_best_epoch(live_dir), params), loss_out, params.dpi)
    log.info("wrote %s and %s", forecast_out, loss_out)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'plot')")
    parser.add_argument("--scaled", required=True, type=Path, help="series with split labels from normalize")
    parser.add_argument("--predictions", required=True, type=Path, help="predictions table from evaluate, CSV")
    parser.add_argument("--live", required=True, type=Path, help="dvclive folder written by train")
    parser.add_argument("--forecast", required=True, type=Path, help="forecast figure to write, PNG")
    parser.add_argument("--loss", required=True, type=Path, help="loss figure to write, PNG")
    args = parser.parse_args(argv)
    check_outputs(args.forecast, args.loss)  # a bad path fails before any work is done
    run(load_section(PlotParams, "plot", args.params), args.scaled, args.predictions, args.live, args.forecast,
        args.loss)


if __name__ == "__main__":
    raise SystemExit(main())
