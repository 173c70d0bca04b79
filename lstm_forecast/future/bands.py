"""Forecasts of the future: the next S values after the end of a series, in calendar time, with conformal
bands per step.

The bands are calibrated on rolling-origin forecasts of the evaluated model: from every origin of the
validation and test spans it forecasts S steps, and step h's scores are the absolute errors of its h-step
forecasts divided by the recent volatility at their origin (lstm_forecast.evaluation.intervals.local_scale), as
evaluate scores its intervals. A band's half-width at step h is that step's calibrated score times the
volatility at the end of the series.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstm_forecast.data.artifacts import CheckpointMeta, Normalization
from lstm_forecast.errors import ArgumentError
from lstm_forecast.prep.features import calendar_features
from lstm_forecast.model.forecasting import forecast, to_levels
from lstm_forecast.evaluation.intervals import Calibrator, local_scale
from lstm_forecast.evaluation.metrics import interval_score, pinball
from lstm_forecast.model.network import Ensemble
from lstm_forecast.prep.windows import Windows


def level_name(level: float) -> str:
    """A level as the columns name it: 0.8 -> '80', 0.975 -> '97.5'."""
    return f"{100 * level:g}"


def series_times(series: pd.DataFrame) -> pd.Series | None:
    """The series' time stamps (ingest's ``time`` column) when they are dates; None for rows without them."""
    if "time" in series and pd.api.types.is_datetime64_any_dtype(series["time"]):
        return series["time"]
    return None


def future_stamps(last: pd.Timestamp | None, freq: str | None, steps: int) -> pd.DatetimeIndex | None:
    """The ``steps`` time stamps after ``last`` on the calendar ``freq`` (a pandas alias); None without one,
    when the forecast is in steps only."""
    if last is None or freq is None:
        return None
    # date_range keeps the wall-clock time across a daylight-saving change, as ingest's calendar does;
    # last + k * offset would add fixed 24-hour days.
    stamps = pd.date_range(last, periods=steps + 1, freq=freq)
    return stamps[1:] if stamps[0] == last else stamps[:steps]


@dataclass(frozen=True)
class Inputs:
    """What a model reads to forecast from a series: its values, the scaled modelled series and the calendar
    inputs of every index, extended ``steps`` indices past the end (zeros for the unknown values, which no
    forecast reads; the calendar of the future stamps)."""

    values: np.ndarray
    z: torch.Tensor
    features: torch.Tensor | None

    @classmethod
    def build(cls, values: np.ndarray, times: pd.Series | None, norm: Normalization, calendar: tuple[str, ...],
              freq: str | None, steps: int) -> Inputs:
        z = np.concatenate([norm.scaled(values), np.zeros(steps)])
        features = None
        if calendar:
            stamps = future_stamps(None if times is None else times.iloc[-1], freq, steps)
            if stamps is None:
                raise ArgumentError("calendar", list(calendar), "needs dates with a regular frequency to forecast "
                                    "past the end of the series; this series has none")
            every = pd.Series(pd.concat([times, pd.Series(stamps, dtype=times.dtype)], ignore_index=True))
            features = torch.from_numpy(calendar_features(every, calendar))
        return cls(values, torch.from_numpy(z.astype(np.float32)), features)


def rolling_forecasts(model: Ensemble, strategy: str, inputs: Inputs, norm: Normalization, time_step: int,
                      scale_windows: bool, first: int, steps: int, stop: int | None = None,
                      stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Origins ``first, first + stride, ...`` before ``stop`` (default n + 1; n, the end of the series, is the
    origin whose forecast is the future) and each one's ``steps``-step forecast in original units: (m,),
    (m, steps)."""
    n = len(inputs.values)
    stop = n + 1 if stop is None else stop
    windows = Windows(inputs.z, (first, stop), time_step, "last", steps, stride, scale_windows, inputs.features)
    scaled = forecast(model, windows, steps, strategy, spread=True).double().numpy()
    origins = windows.origins.numpy()
    return origins, to_levels(norm.scaler.inverse(scaled), inputs.values, origins, norm.difference)


def scores(values: np.ndarray, origins: np.ndarray, forecasts: np.ndarray, volatility: np.ndarray) -> np.ndarray:
    """|actual - forecast| / volatility at the origin, (m, S); NaN where the value is not observed yet."""
    n, steps = len(values), forecasts.shape[1]
    at = origins[:, None] + np.arange(steps)
    actual = np.where(at < n, values[np.minimum(at, n - 1)], np.nan)
    return np.abs(actual - forecasts) / volatility[:, None]


@dataclass(frozen=True)
class Calibration:
    """The scores of the rolling-origin forecasts (m, S), their origins (m,), where test starts, and (for the
    interval scores) the volatility each origin's scores were divided by (m,)."""

    origins: np.ndarray
    scores: np.ndarray
    test_start: int
    volatility: np.ndarray | None = None

    def _keep(self, h: int, split: str) -> np.ndarray:
        """Which origins' step h (1-based) is observed, in ``split`` ('val', 'test' or 'all'). A validation
        score's value lies in the validation span too: the last h - 1 origins before test, whose step h falls
        in test, belong to neither (as evaluate's validation windows end H - 1 before test)."""
        keep = np.isfinite(self.scores[:, h - 1])
        if split == "val":
            keep &= self.origins + h - 1 < self.test_start
        elif split == "test":
            keep &= self.origins >= self.test_start
        return keep

    def _step(self, h: int, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Origins and scores of step h that are observed, in ``split`` (see ``_keep``)."""
        keep = self._keep(h, split)
        return self.origins[keep], self.scores[keep, h - 1]

    def future_half_widths(self, level: float, method: str, gamma: float, end: int) -> np.ndarray:
        """Score half-widths of the forecast from origin ``end`` at each step. (S,)

        ``split``: the conformal quantile of every validation and test score of the step. ``adaptive``:
        calibrated on validation, then adaptive conformal inference through the test forecasts whose values
        are observed, read at ``end`` (intervals.Calibrator, as evaluate's intervals)."""
        calibrator = Calibrator(method, gamma)
        return np.array([calibrator.after(self._step(h, "val")[1], self._step(h, "test")[1], self._step(h, "test")[0],
                                          end, h, level, self._step(h, "all")[1])
                         for h in range(1, self.scores.shape[1] + 1)])

    def test_coverage(self, level: float, method: str, gamma: float) -> np.ndarray:
        """Per step, the share of test forecasts inside bands calibrated on validation only (``adaptive``:
        then updated on the test errors observed before each origin, as evaluate does). (S,)"""
        return self.test_check(level, method, gamma)["coverage"]

    def test_half_widths(self, level: float, method: str, gamma: float) -> np.ndarray:
        """Each test forecast's band half-width, in score units, calibrated on validation only (``adaptive``:
        then updated on the test errors observed before its origin, as evaluate does); NaN where the forecast
        is not a test one or its value is not observed. (m, S)"""
        calibrator, half = Calibrator(method, gamma), np.full(self.scores.shape, np.nan)
        for h in range(1, self.scores.shape[1] + 1):
            origins, seq = self._step(h, "test")
            half[self._keep(h, "test"), h - 1] = calibrator.along(self._step(h, "val")[1], seq, origins, h, level)
        return half

    def test_check(self, level: float, method: str, gamma: float, scale: float | None = None,
                   half: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per step, over the test forecasts and their bands (``test_half_widths``, or ``half`` of that shape):
        ``coverage``; with MASE's ``scale`` (and the volatility), also the bands' interval score (``msis``)
        and their edges' pinball loss (``pinball``), divided by ``scale`` as evaluate's are. (S,) each."""
        half = self.test_half_widths(level, method, gamma) if half is None else half
        out: dict[str, list[float]] = {"coverage": []}
        scored = scale is not None and self.volatility is not None
        if scored:
            out |= {"msis": [], "pinball": []}
        for h in range(1, self.scores.shape[1] + 1):
            keep = self._keep(h, "test")
            seq, width = self.scores[keep, h - 1], half[keep, h - 1]
            out["coverage"].append(float(np.mean(seq <= width)))
            if scored:
                # The band is symmetric about the forecast: the error's size against the band's half-width.
                error, band = seq * self.volatility[keep], width * self.volatility[keep]
                out["msis"].append(float(np.mean(interval_score(error, -band, band, level, scale))))
                out["pinball"].append(float(np.mean(pinball(error, -band, band, level, scale))))
        return {name: np.array(values) for name, values in out.items()}


def calibrate(model: Ensemble, strategy: str, inputs: Inputs, norm: Normalization, time_step: int,
              scale_windows: bool, first: int, steps: int, window: int, floor: float,
              stride: int = 1) -> Calibration:
    """Forecast ``steps`` ahead from every ``stride``-th origin ``first .. n - 1`` and score the forecasts (the
    end, n, has nothing observed after it)."""
    n = len(inputs.values)
    origins, forecasts = rolling_forecasts(model, strategy, inputs, norm, time_step, scale_windows, first, steps, n,
                                           stride)
    volatility = local_scale(inputs.values, origins, window, floor)
    return Calibration(origins, scores(inputs.values, origins, forecasts, volatility), norm.splits["test"][0],
                       volatility)


def forecast_future(model: Ensemble, meta: CheckpointMeta, norm: Normalization, values: np.ndarray,
                    times: pd.Series | None, freq: str | None, steps: int, half_widths: dict[float, np.ndarray],
                    window: int, floor: float) -> pd.DataFrame:
    """The table of the ``steps`` values after the end of ``values`` (forecast_table), forecast by ``model``
    from its last window, with bands of ``half_widths`` (score units) times the volatility at the end."""
    inputs = Inputs.build(values, times, norm, meta.calendar, freq, steps)
    n = len(values)
    _, point = rolling_forecasts(model, meta.strategy, inputs, norm, meta.time_step, meta.scale_windows, n, steps)
    volatility = float(local_scale(values, np.array([n]), window, floor)[0])
    stamps = future_stamps(None if times is None else times.iloc[-1], freq, steps)
    return forecast_table(point[0], half_widths, volatility, stamps)


def forecast_table(point: np.ndarray, half_widths: dict[float, np.ndarray], volatility: float,
                   stamps: pd.DatetimeIndex | None) -> pd.DataFrame:
    """One row per step: the time stamp (with a calendar), the step, the point forecast, and a lower and upper
    bound per level."""
    table = pd.DataFrame({"step": np.arange(1, len(point) + 1), "forecast": point})
    if stamps is not None:
        table.insert(0, "time", stamp_text(stamps))
    for level, half in half_widths.items():
        table[f"lower_{level_name(level)}"] = point - half * volatility
        table[f"upper_{level_name(level)}"] = point + half * volatility
    return table


def stamp_text(stamps: pd.DatetimeIndex) -> np.ndarray:
    """Stamps as the CSV files write them: the date, the time of day where any stamp has one, and the UTC
    offset of a time-zone-aware calendar."""
    fmt = "%Y-%m-%d %H:%M:%S" if (stamps != stamps.normalize()).any() else "%Y-%m-%d"
    return np.asarray(stamps.strftime(fmt + ("%z" if stamps.tz is not None else "")))
