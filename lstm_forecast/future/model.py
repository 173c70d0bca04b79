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
from pandas.tseries.frequencies import to_offset

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

    def check_history(self, values: np.ndarray, freq: str | None) -> None:
        """An ArgumentError (named ``history``) where a series cannot be forecast by this model: another
        frequency, no dates for its calendar inputs, or fewer values than its window and bands read."""
        if self.freq is not None and freq is not None and to_offset(freq) != to_offset(self.freq):
            raise ArgumentError("history", freq, f"its frequency is {freq}, the model was trained on {self.freq} data")
        if self.meta.calendar and freq is None:
            raise ArgumentError("history", None, f"the model reads calendar inputs {list(self.meta.calendar)}, so the "
                                f"history needs a time column of dates at frequency {self.freq}")
        need = max(self.meta.time_step + int(self.normalization.difference), self.interval_window + 1)
        if len(values) < need:
            changes = ", as changes from the value before" if self.normalization.difference else ""
            raise ArgumentError("history", len(values), f"too little history, {len(values)} values; the model reads "
                                f"the last {self.meta.time_step}{changes} and its bands the last "
                                f"{self.interval_window} changes: give at least {need} values")

    def history_frame(self) -> pd.DataFrame | None:
        """The series the model was fitted on, as ingest's frame (``time``, ``value``), or None."""
        if self.history is None:
            return None
        frame = pd.DataFrame({"value": np.array(self.history["values"], dtype=np.float64)})
        times = self.history["times"]
        if times is not None:
            kind = self.history.get("time_kind")
            stamps = pd.Series(times)
            if kind == "dates":
                stamps = pd.to_datetime(stamps, utc=True)
                stamps = stamps.dt.tz_convert(self.history["tz"]) if self.history["tz"] else stamps.dt.tz_localize(None)
            frame.insert(0, "time", stamps)
        return frame

    @staticmethod
    def history_of(series: pd.DataFrame, uid: str | int | float | None) -> dict[str, Any]:
        """``series`` (ingest's frame) as the file keeps it: dates as UTC ISO text with their time zone, a step
        index as numbers."""
        out: dict[str, Any] = {"id": uid, "times": None, "time_kind": None, "tz": None,
                               "values": [float(v) for v in series["value"]]}
        if "time" in series:
            time = series["time"]
            if pd.api.types.is_datetime64_any_dtype(time):
                tz = getattr(time.dt, "tz", None)
                utc = time.dt.tz_convert("UTC") if tz is not None else time
                out |= {"times": [s.isoformat() for s in utc], "time_kind": "dates", "tz": None if tz is None else str(tz)}
            else:
                out |= {"times": [v.item() if isinstance(v, np.generic) else v for v in time], "time_kind": "steps"}
        return out

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
