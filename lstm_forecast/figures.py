"""The figures the plot stage draws, as PNG files with no time stamps or versions in them."""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt  # the caller's backend: the stages set Agg (pipeline/edge.py), a notebook its own
import numpy as np
import pandas as pd

from lstm_forecast.data.files import atomic_path

SPAN_COLORS = {"val": "tab:orange", "test": "tab:green"}
# PNG text chunks would otherwise name the matplotlib version; keep files comparable across upgrades.
PNG_METADATA = {"Software": None}
# The forecast stage's figure (it reads no plot params: a plot.* change must not rerun the forecast).
FUTURE_SIZE = (12.0, 5.0)
# Validation scores the forecasts of every step 1..H from each validation origin, in the modelled series'
# scaled units: the one-step changes, not the levels, when normalize.difference is on.
VAL_LOSS_LABEL = "validation (MSE of the H-step forecasts, modelled series)"
# One step of a series in words, by the name of its pandas frequency (the alias without its anchor, "-JAN").
UNITS = {
    "MS": "month", "ME": "month", "BMS": "month", "BME": "month", "CBMS": "month", "CBME": "month",
    "SMS": "half month", "SME": "half month", "QS": "quarter", "QE": "quarter", "BQS": "quarter", "BQE": "quarter",
    "YS": "year", "YE": "year", "BYS": "year", "BYE": "year", "W": "week", "D": "day", "B": "business day",
    "C": "business day", "bh": "business hour", "cbh": "business hour", "h": "hour", "min": "minute",
    "s": "second", "ms": "millisecond", "us": "microsecond", "ns": "nanosecond",
}


def time_unit(freq: str | None) -> str:
    """One step of a series with the pandas frequency alias ``freq`` in words: "month" (MS, M), "quarter"
    (QS, Q), "week" (W-SUN), "business day" (B), "30 minutes" (30min); "step" with none, or one not known."""
    if freq is None:
        return "step"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # older aliases (M, Q, H) still name their unit
            offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return "step"
    unit = UNITS.get(offset.name.split("-")[0], "step")
    return unit if offset.n == 1 or unit == "step" else f"{offset.n} {unit}s"


def steps_in(count: int, unit: str) -> str:
    """``count`` steps of ``unit`` (``time_unit``'s words): "24 months", "1 month", "24 steps of 30 minutes"."""
    if unit[0].isdigit():
        return f"{count} step{'s' * (count != 1)} of {unit}"
    return f"{count} {unit}{'s' * (count != 1)}"


def time_axis(unit: str) -> str:
    """A time axis' label: the unit of a step; "time" for dates with no regular frequency (unit "step")."""
    return "time" if unit == "step" else unit


def forecast_figure(series: pd.DataFrame, predictions: pd.DataFrame, size: tuple[float, float], unit: str = "step",
                    column: str = "value") -> plt.Figure:
    """The whole series in original units, the LSTM's one-step forecasts, validation and test spans shaded;
    ``unit`` is one step in words (``time_unit``), ``column`` the series' name, for the axes."""
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
    ax.set_xlabel(time_axis(unit) if has_time else "step")
    ax.set_ylabel(column)
    ax.set_title("One-step-ahead forecasts")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def future_figure(history: pd.DataFrame, forecast: pd.DataFrame, levels: tuple[float, ...], unit: str = "step",
                  column: str = "value") -> plt.Figure:
    """The recent history and the forecast after it, a band per level (widest palest), in calendar time when
    the tables have a ``time`` column, else in steps from the end of the series; ``unit`` and ``column`` as
    in ``forecast_figure``."""
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
    ax.set_xlabel(time_axis(unit) if has_time else "steps from the end of the series")
    ax.set_ylabel(column)
    ax.set_title(f"Forecast of the next {steps_in(len(forecast), unit)}")
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
