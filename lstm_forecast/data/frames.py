"""Long DataFrames in and out: one frame with a series id, a time and a value column (``unique_id``, ``ds``,
``y`` by default, as statsforecast and neuralforecast name them) read into the series ingest makes, and the
future written back in the same shape."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pandas as pd

from lstm_forecast.config.ingest import IngestParams
from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.data.reading import Table
from lstm_forecast.data.series import select_series
from lstm_forecast.errors import ArgumentError
from lstm_forecast.future.model import FutureModel

SHOWN = 5


@contextlib.contextmanager
def frame_errors(names: dict[str, str]) -> Iterator[None]:
    """An ArgumentError of the series' reading, renamed to the argument the caller gave (``column`` is the
    ``target_col`` of a frame)."""
    try:
        yield
    except ArgumentError as err:
        if err.name not in names:
            raise
        raise ArgumentError(names[err.name], err.value, err.reason) from None


def frame_series(df: pd.DataFrame, id_col: str, time_col: str, target_col: str,
                 ingest: IngestParams = IngestParams()) -> tuple[pd.DataFrame, SeriesInfo, object]:
    """The series in the long frame ``df`` (ingest's frame: ``time`` and ``value``), what was found out about it
    (the frequency above all), and its id (the target column's name where ``df`` has no id column). One series
    for now: a frame of several ids is refused, naming them. The checks and options are ingest's (rows
    ``start:stop``, missing values, sorting, the calendar); its file keys do not apply."""
    if not isinstance(df, pd.DataFrame):
        raise ArgumentError("df", type(df).__name__, f"should be a pandas DataFrame with columns {id_col!r}, "
                            f"{time_col!r} and {target_col!r}")
    absent = [name for name in (time_col, target_col) if name not in df.columns]
    if absent:
        which = "time_col" if absent[0] == time_col else "target_col"
        raise ArgumentError(which, absent[0], f"not a column of the frame; its columns: "
                            f"{', '.join(map(str, df.columns[:20]))}")
    uid: object = target_col
    if id_col in df.columns:
        ids = pd.unique(df[id_col])
        if len(ids) > 1:
            shown = ", ".join(map(repr, ids[:SHOWN])) + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")
            raise ArgumentError("df", f"{len(ids)} series", f"the frame holds several series ({id_col} {shown}); a "
                                "Forecaster fits one series for now: select one, e.g. "
                                f"df[df[{id_col!r}] == {ids[0]!r}]")
        uid = ids[0] if len(ids) else target_col
    table = Table(df[[time_col, target_col]].reset_index(drop=True))
    with frame_errors({"column": "target_col", "time_column": "time_col"}):
        series, info = select_series(table, column=target_col, time_column=time_col, start=ingest.start,
                                     stop=ingest.stop, missing=ingest.missing, sort=ingest.sort, freq=ingest.freq)
    if len(series) < 2:
        raise ArgumentError("df", f"{len(series)} values", "too few to forecast from; need at least 2")
    return series, info, uid


def future_ds(series: pd.DataFrame, info: SeriesInfo, stamps: pd.DatetimeIndex | None, steps: int) -> np.ndarray:
    """The ``ds`` of the ``steps`` values after the series: its calendar's next stamps, the next steps of a step
    index (1, 2, 3 ... or 0.5, 1.0 ...), else 1..steps after the last row."""
    if stamps is not None:
        return np.asarray(stamps)
    if info.step is not None and "time" in series:
        ahead = series["time"].iloc[-1] + info.step * np.arange(1, steps + 1)
        whole = pd.api.types.is_integer_dtype(series["time"]) and float(info.step).is_integer()
        return ahead.astype(series["time"].dtype) if whole else ahead
    return np.arange(1, steps + 1)


def future_levels(future: FutureModel, level: float | tuple[float, ...] | None) -> tuple[float, ...]:
    """``level`` (percent, one or several, as statsforecast takes it) as the model's calibrated levels."""
    if level is None:
        return future.levels
    given = [level] if isinstance(level, (int, float, np.number)) else list(level)
    calibrated = {round(100 * lv, 9): lv for lv in future.levels}
    unknown = [lv for lv in given if not isinstance(lv, (int, float, np.number)) or round(float(lv), 9) not in calibrated]
    if unknown:
        raise ArgumentError("level", level, "should list levels in percent that the bands were calibrated for: "
                            f"{', '.join(f'{p:g}' for p in calibrated)} (a fit with other levels calibrates others)")
    return tuple(calibrated[round(float(lv), 9)] for lv in given)


def saved_history(future: FutureModel) -> tuple[pd.DataFrame, SeriesInfo, object]:
    """The series a saved model was fitted on, as ``frame_series`` gives a frame's."""
    series = future.history_frame()
    step = None
    if future.history["time_kind"] == "steps" and len(series) > 1:
        step = float(series["time"].iloc[-1] - series["time"].iloc[-2])
    uid = future.column if future.history["id"] is None else future.history["id"]
    return series, SeriesInfo(future.column, None, future.freq, step, len(series)), uid


def forecast_frame(table: pd.DataFrame, uid: object, ds: np.ndarray, levels: tuple[float, ...]) -> pd.DataFrame:
    """The forecast stage's table (``forecast``, ``lower_<level>``, ``upper_<level>``) as a long frame with
    statsforecast's names: ``unique_id``, ``ds``, ``forecast``, ``lo-80``, ``hi-80``, ..."""
    out = pd.DataFrame({"unique_id": uid, "ds": ds, "forecast": table["forecast"].to_numpy()})
    for level in levels:
        name = f"{100 * level:g}"
        out[f"lo-{name}"] = table[f"lower_{name}"].to_numpy()
        out[f"hi-{name}"] = table[f"upper_{name}"].to_numpy()
    return out
