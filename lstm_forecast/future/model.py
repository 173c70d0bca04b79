"""The forecasting model: the network with everything it needs to forecast any series' future with bands (the
scaler of the series it was trained on, the calendar, the calibrated band scores per step and level). It is
``models/forecast.pt``, what ``Forecaster.save`` writes and ``pipeline.predict`` reads: one typed, versioned
file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast.data.artifacts import CheckpointMeta, Normalization
from lstm_forecast.errors import ArgumentError
from lstm_forecast.future.bands import forecast_future, level_name
from lstm_forecast.model.checkpoint import load_forecaster, save_checkpoint
from lstm_forecast.model.network import Ensemble

# The layout of the forecasting entries; a file of another layout is refused with one line.
LAYOUT = 1


@dataclass(frozen=True)
class FutureModel:
    """``bands``: per level, the half-width of each step in score units (multiplied by the volatility at the
    end of the history); ``history``: the series it was fitted on (``id``, ``times``: stamps as text or None,
    ``values``), so that it forecasts that series' future with no data given."""

    model: Ensemble
    meta: CheckpointMeta
    normalization: Normalization
    freq: str | None
    column: str
    steps: int
    levels: tuple[float, ...]
    bands: dict[float, np.ndarray]
    interval_window: int
    volatility_floor: float
    interval_method: str
    history: dict[str, Any] | None = None

    def constants(self) -> dict[str, Any]:
        """Everything but the network and the history, as plain JSON (model.json carries these too)."""
        return {"normalization": self.normalization.to_json(), "column": self.column, "steps": self.steps,
                "levels": list(self.levels), "bands": {level_name(lv): [float(q) for q in self.bands[lv]]
                                                       for lv in self.levels},
                "interval_window": self.interval_window, "volatility_floor": self.volatility_floor,
                "interval_method": self.interval_method}

    def forecast(self, values: np.ndarray, times: pd.Series | None, freq: str | None, steps: int | None = None,
                 levels: tuple[float, ...] | None = None) -> pd.DataFrame:
        """The next ``steps`` (default: all it was calibrated for) values after ``values``, with the bands of
        ``levels`` (default: all); the table of ``future.bands.forecast_table``."""
        steps = self.steps if steps is None else steps
        if not 1 <= steps <= self.steps:
            raise ArgumentError("steps", steps, f"the bands were calibrated for steps 1..{self.steps}; ask for 1 "
                                f"to {self.steps}")
        levels = self.levels if levels is None else levels
        missing = [lv for lv in levels if lv not in self.bands]
        if missing:
            raise ArgumentError("level", [100 * lv for lv in missing], "has no calibrated band; calibrated: "
                                + ", ".join(level_name(lv) for lv in self.levels))
        half = {float(lv): np.asarray(self.bands[lv][:steps]) for lv in levels}
        return forecast_future(self.model, self.meta, self.normalization, values, times, freq, steps, half,
                               self.interval_window, self.volatility_floor)

    def save(self, path: str | os.PathLike) -> None:
        entries = self.constants() | {"freq": self.freq}
        if self.history is not None:
            entries["history"] = self.history
        save_checkpoint(path, self.model, self.meta, entries | {"layout": LAYOUT})

    @classmethod
    def load(cls, path: str | os.PathLike) -> FutureModel:
        model, meta, saved = load_forecaster(path)
        if saved is None:
            raise ArgumentError("path", str(path), "holds a trained network without the scaler and bands a forecast "
                                "needs (train's checkpoint); use the forecasting model (forecast.pt)")
        if saved.get("layout") != LAYOUT:
            raise ArgumentError("path", str(path), f"a forecasting model of layout {saved.get('layout')}; this "
                                f"version reads layout {LAYOUT}")
        history = saved.get("history")
        levels = tuple(float(lv) for lv in saved["levels"])
        return cls(model, meta, Normalization.from_json(saved["normalization"], str(path)), saved["freq"],
                   saved["column"], int(saved["steps"]), levels,
                   {lv: np.array(saved["bands"][level_name(lv)]) for lv in levels}, int(saved["interval_window"]),
                   float(saved["volatility_floor"]), saved["interval_method"],
                   history)
