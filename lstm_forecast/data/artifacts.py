"""What one stage hands to the next, one typed definition each: what ingest found out about the series, the
scaler and split bounds (normalize), the window index (window) and the checkpoint's metadata (train).

Each is written with its layout version; a file from another layout is refused (``StaleArtifact``: the file,
the layout it was written in and the one this code reads), never read by guesswork. How to regenerate it is
the caller's to say: a stage adds "dvc repro" (pipeline/edge.py).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_forecast.errors import StaleArtifact
from lstm_forecast.data.files import read_json
from lstm_forecast.prep.scaling import Scaler

# Bump when a field of any artifact below changes meaning or name.
LAYOUT = 2
SPLITS = ("train", "val", "test")

# A span of indices of the series, [first, stop).
Span = tuple[int, int]


def _check_layout(obj: Any, source: str) -> dict[str, Any]:
    found = obj.get("layout") if isinstance(obj, dict) else None
    if found != LAYOUT:
        raise StaleArtifact(f"{source}: written in artifact layout {found}, this code reads layout {LAYOUT}")
    return obj


def _spans(obj: dict[str, Any]) -> dict[str, Span]:
    return {name: (int(obj[name][0]), int(obj[name][1])) for name in SPLITS}


@dataclass(frozen=True)
class SeriesInfo:
    """ingest's record of the series it wrote: the columns it used, its calendar (a pandas frequency alias,
    or a step for a numeric time column; neither without a time column or with ``freq: none``) and its length."""

    column: str
    time_column: str | None
    freq: str | None
    step: float | None
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {"layout": LAYOUT, "column": self.column, "time_column": self.time_column, "freq": self.freq,
                "step": self.step, "rows": self.rows}

    @classmethod
    def from_json(cls, obj: Any, source: str = "series.json") -> SeriesInfo:
        obj = _check_layout(obj, source)
        return cls(str(obj["column"]), obj["time_column"], obj["freq"], obj["step"], int(obj["rows"]))

    @classmethod
    def read(cls, path: str | os.PathLike) -> SeriesInfo:
        return cls.from_json(read_json(path), str(path))


def modelled_series(values: np.ndarray, difference: bool) -> np.ndarray:
    """The series the model reads: the levels, or with ``difference`` the one-step changes y[t] - y[t-1],
    the first point's (which has none) taken as 0."""
    return np.diff(values, prepend=values[0]) if difference else values


@dataclass(frozen=True)
class Normalization:
    """normalize's output: the series' length, each split's span, and the scaler fitted on the training span
    of the modelled series (the levels, or their one-step changes when ``difference``); with
    ``difference: auto``, the unit-root test that chose (``difference_test``, lstm_forecast.prep.stationarity)."""

    length: int
    splits: dict[str, Span]
    scaler: Scaler
    difference: bool
    difference_test: dict[str, Any] | None = None
    # (low, high): the modelled series is clipped to these bounds before it is scaled (normalize.outliers:
    # clip, lstm_forecast.prep.outliers); None: as it is.
    clip: tuple[float, float] | None = None

    def modelled(self, values: np.ndarray) -> np.ndarray:
        """The modelled series of ``values`` (modelled_series), clipped to ``clip`` where given."""
        modelled = modelled_series(values, self.difference)
        return modelled if self.clip is None else np.clip(modelled, *self.clip)

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """``values`` as the model reads them: the modelled series, clipped, scaled."""
        return self.scaler.transform(self.modelled(values))

    @property
    def scale_windows(self) -> bool:
        """Whether each window is scaled again by its own statistics (``method: window``)."""
        return self.scaler.method == "window"

    def to_json(self) -> dict[str, Any]:
        return {"layout": LAYOUT, "length": self.length, "splits": {k: list(v) for k, v in self.splits.items()},
                "scaler": self.scaler.to_json(), "difference": self.difference,
                "difference_test": self.difference_test, "clip": None if self.clip is None else list(self.clip)}

    @classmethod
    def from_json(cls, obj: Any, source: str = "normalize.json") -> Normalization:
        obj = _check_layout(obj, source)
        clip = obj.get("clip")
        return cls(int(obj["length"]), _spans(obj["splits"]), Scaler.from_json(obj["scaler"]), bool(obj["difference"]),
                   obj["difference_test"], None if clip is None else (float(clip[0]), float(clip[1])))

    @classmethod
    def read(cls, path: str | os.PathLike) -> Normalization:
        return cls.from_json(read_json(path), str(path))


@dataclass(frozen=True)
class WindowIndex:
    """window's output: the window shape, and per split the span of origins it trains or is scored on.

    An origin is the index of a forecast's first value: a window at origin ``t`` reads ``z[t - time_step : t]``
    and forecasts ``z[t : t + horizon]``.
    """

    time_step: int
    target: str
    horizon: int
    origins: dict[str, Span]
    # Each window scaled by its own statistics (normalize.method: window), and the calendar inputs fed beside
    # the value: what every model reading these windows must have been trained with.
    scale_windows: bool = False
    calendar: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return {name: b - a for name, (a, b) in self.origins.items()}

    def to_json(self) -> dict[str, Any]:
        return {"layout": LAYOUT, "time_step": self.time_step, "target": self.target, "horizon": self.horizon,
                "origins": {k: list(v) for k, v in self.origins.items()}, "counts": self.counts,
                "scale_windows": self.scale_windows, "calendar": list(self.calendar)}

    @classmethod
    def from_json(cls, obj: Any, source: str = "windows.json") -> WindowIndex:
        obj = _check_layout(obj, source)
        return cls(int(obj["time_step"]), str(obj["target"]), int(obj["horizon"]), _spans(obj["origins"]),
                   bool(obj["scale_windows"]), tuple(obj["calendar"]))

    @classmethod
    def read(cls, path: str | os.PathLike) -> WindowIndex:
        return cls.from_json(read_json(path), str(path))


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about how its model was trained, beside the network's own config: each
    ensemble member's best epoch (members in seed order), and the windows it reads."""

    best_epochs: tuple[int, ...]
    time_step: int
    target: str
    horizon: int
    strategy: str
    scale_windows: bool = False
    calendar: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"layout": LAYOUT, "best_epochs": list(self.best_epochs), "time_step": self.time_step,
                "target": self.target, "horizon": self.horizon, "strategy": self.strategy,
                "scale_windows": self.scale_windows, "calendar": list(self.calendar)}

    @classmethod
    def from_json(cls, obj: Any, source: str = "the checkpoint") -> CheckpointMeta:
        obj = _check_layout(obj, source)
        return cls(tuple(int(e) for e in obj["best_epochs"]), int(obj["time_step"]), str(obj["target"]),
                   int(obj["horizon"]), str(obj["strategy"]), bool(obj["scale_windows"]), tuple(obj["calendar"]))

    @classmethod
    def for_windows(cls, best_epochs: tuple[int, ...], index: WindowIndex, strategy: str) -> CheckpointMeta:
        return cls(best_epochs, index.time_step, index.target, index.horizon, strategy, index.scale_windows,
                   index.calendar)

    def windows_shape(self) -> tuple[int, str, int, bool, tuple[str, ...]]:
        """(time_step, target, horizon, scale_windows, calendar): what the window index must match for this
        model to read it."""
        return self.time_step, self.target, self.horizon, self.scale_windows, self.calendar
