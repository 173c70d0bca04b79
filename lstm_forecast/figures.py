"""The figures the plot stage draws, as PNG files with no time stamps or versions in them."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or in `dvc repro`
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lstm_forecast.files import atomic_path  # noqa: E402

SPAN_COLORS = {"val": "tab:orange", "test": "tab:green"}
# PNG text chunks would otherwise name the matplotlib version; keep files comparable across upgrades.
PNG_METADATA = {"Software": None}
# The forecast stage's figure (it reads no plot params: a plot.* change must not rerun the forecast).
FUTURE_SIZE = (12.0, 5.0)
# Validation scores the forecasts of every step 1..H from each validation origin, in the modelled series'
# scaled units: the one-step changes, not the levels, when normalize.difference is on.
VAL_LOSS_LABEL = "validation (MSE of the H-step forecasts, modelled series)"


def forecast_figure(series: pd.DataFrame, predictions: pd.DataFrame, size: tuple[float, float]) -> plt.Figure:
    """The whole series in original units, the LSTM's one-step forecasts, validation and test spans shaded."""
    fig, ax = plt.subplots(figsize=size)
    has_time = "time" in series
    x = series["time"] if has_time else pd.Series(np.arange(len(series)))
    ax.plot(x, series["value"], color="0.3", linewidth=0.8, label="actual")
    pred_x = x.iloc[predictions["origin"]]
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


def future_figure(history: pd.DataFrame, forecast: pd.DataFrame, levels: tuple[float, ...]) -> plt.Figure:
    """The recent history and the forecast after it, a band per level (widest palest), in calendar time when
    the tables have a ``time`` column, else in steps from the end of the series."""
    fig, ax = plt.subplots(figsize=FUTURE_SIZE)
    has_time = "time" in forecast
    x_hist = pd.to_datetime(history["time"]) if has_time else history["step"]
    x_fut = pd.to_datetime(forecast["time"]) if has_time else forecast["step"]
    ax.plot(x_hist, history["actual"], color="0.3", linewidth=0.9, label="actual")
    for i, level in enumerate(sorted(levels, reverse=True)):
        name = f"{100 * level:g}"
        ax.fill_between(x_fut, forecast[f"lower_{name}"], forecast[f"upper_{name}"], color="tab:blue",
                        alpha=0.15 + 0.15 * i, linewidth=0, label=f"{name}% band")
    ax.plot(x_fut, forecast["forecast"], color="tab:blue", linewidth=1.2, marker=".", label="LSTM forecast")
    ax.set_xlabel("time" if has_time else "steps from the end of the series")
    ax.set_ylabel("value")
    ax.set_title(f"Forecast of the next {len(forecast)} steps")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def loss_figure(curves: pd.DataFrame, best_epoch: int | None, size: tuple[float, float]) -> plt.Figure:
    """Loss per epoch (dvclive counts steps from 0) and the epoch whose weights were kept."""
    fig, ax = plt.subplots(figsize=size)
    for column, label in (("train_loss", "train (training objective)"), ("val_loss", VAL_LOSS_LABEL)):
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


def save(fig: plt.Figure, path: Path, dpi: int) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata=PNG_METADATA)
    plt.close(fig)
