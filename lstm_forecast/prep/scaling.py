"""Scalers fitted on the training span only, stored as JSON so later stages never refit."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_forecast.errors import ArgumentError


@dataclass(frozen=True)
class Scaler:
    """``scaled = (x - offset) / scale``; for zscore offset/scale are mean/std, for minmax min/range. ``window``
    is a z-score too; each window is then scaled again by its own statistics (lstm_forecast.prep.windows)."""

    method: str
    offset: float
    scale: float

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.offset) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z * self.scale + self.offset

    def to_json(self) -> dict[str, Any]:
        if self.method in ("zscore", "window"):
            return {"method": self.method, "mean": self.offset, "std": self.scale}
        return {"method": "minmax", "min": self.offset, "max": self.offset + self.scale}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Scaler:
        if obj["method"] in ("zscore", "window"):
            return cls(obj["method"], float(obj["mean"]), float(obj["std"]))
        return cls("minmax", float(obj["min"]), float(obj["max"]) - float(obj["min"]))


def fit_scaler(train: np.ndarray, method: str) -> Scaler:
    """Fit on the training span only: using later values would leak the future into the inputs."""
    if method in ("zscore", "window"):
        offset, scale = float(np.mean(train)), float(np.std(train))
    elif method == "minmax":
        offset, scale = float(np.min(train)), float(np.max(train) - np.min(train))
    else:
        raise ValueError(f"unknown scaling method {method!r}")
    if not scale > 0:
        raise ArgumentError("method", method, f"the training span ({len(train)} values) is constant, so it cannot "
                            "be scaled")
    return Scaler(method, offset, scale)
