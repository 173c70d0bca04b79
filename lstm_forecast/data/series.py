"""From a table to the series: the value column and the time column chosen, numbers read, rows put in
time order on one calendar, and missing values handled by the chosen policy."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.data.calendar import (Calendar, absent_periods, check_unique, holds_dates, infer_calendar, order,
                                    parse_stamps)
from lstm_forecast.data.cells import holds_numbers, to_numbers
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.data.reading import Table, header_hint

log = logging.getLogger(__name__)

TIME_NAMES = ("date", "time", "datetime", "timestamp", "month", "step")
SHOWN = 5


def shown(index: pd.Index) -> str:
    """The first SHOWN entries, and how many more."""
    more = f" and {len(index) - SHOWN} more" if len(index) > SHOWN else ""
    return ", ".join(map(str, index[:SHOWN])) + more


def find_time_column(frame: pd.DataFrame, time_column: str | None, column: str | None = None) -> str | None:
    """The column carried along as time stamps: ``time_column`` if given, else the one column besides the
    value ``column`` whose cells are all dates or periods, else one named like a time (date, month, step...).
    Of several columns of dates, the one named like a time, or an error naming them."""
    if time_column is not None:
        if time_column not in frame.columns:
            raise ArgumentError("time_column", time_column, f"not found; columns: {', '.join(map(str, frame.columns))}")
        return time_column
    named = [name for name in frame.columns if name != column and str(name).strip().lower() in TIME_NAMES]
    dated = [name for name in frame.columns if name != column and holds_dates(frame[name])]
    if len(dated) > 1 and len(set(dated) & set(named)) != 1:
        raise ArgumentError("time_column", None, f"columns {' and '.join(map(repr, dated[:SHOWN]))} hold dates; "
                            "name the one that is the time column")
    if dated:
        name = next(n for n in dated if len(dated) == 1 or n in named)
        log.info("time column %r: every cell is a date or period, such as %s", name,
                 frame[name].dropna().iloc[0])
        return name
    if named:
        log.info("time column %r: by its name", named[0])
    return named[0] if named else None


def find_value_column(table: Table, column: str | None, time_col: str | None) -> str:
    """The series column: ``column`` if given, else the single numeric column besides time (a CSV's by the
    numbers its text reads as). A column of formulas without stored values counts as numeric, so it is never
    passed over in silence."""
    frame = table.frame
    names = [c for c in frame.columns if c != time_col]
    if column is not None:
        if column not in frame.columns:
            raise ArgumentError("column", column, f"not found; columns: {', '.join(map(str, frame.columns))}")
        return column
    numeric = [c for c in names if c in table.formulas or holds_numbers(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric and len(names) == 1:
        return names[0]  # a lone column with a few bad cells: parse it and report those cells
    if not numeric:
        raise ArgumentError("column", None, f"no numeric column found; name one of: {', '.join(map(str, names))}")
    raise ArgumentError("column", None, f"several numeric columns ({', '.join(map(str, numeric))}); name one of them")


def check_formulas(table: Table, column: str) -> None:
    """Cells that hold a formula whose value was never stored are not empty: say so, with the fix."""
    if column in table.formulas:
        count, row, formula = table.formulas[column]
        raise UserError(f"column {column!r} row {row}: the formula {formula} has no stored value ({count} such cells); "
                        "open the workbook in a spreadsheet program and save it, so the values are stored")


def _when(stamps: pd.Series | None, rows: np.ndarray, first: int, last: int) -> str:
    """Positions ``first`` to ``last`` as their time stamps, or without a time column as the file's rows."""
    def stamp(t: object) -> str:
        plain = isinstance(t, pd.Timestamp) and t.tz is None and t == t.normalize()
        return str(t.date()) if plain else str(t)

    if stamps is None:
        return f"row {rows[first]}" if first == last else f"rows {rows[first]} to {rows[last]}"
    a, b = stamp(stamps.iloc[first]), stamp(stamps.iloc[last])
    return a if first == last else f"{a} to {b}"


def trim_empty_ends(stamps: pd.Series | None, values: np.ndarray, rows: np.ndarray,
                    name: str) -> tuple[pd.Series | None, np.ndarray, np.ndarray]:
    """A series starts at its first value and ends at its last: empty cells before the first and after the last
    (a sheet laid out for the months to come) are no missing values, under every policy. They are left out,
    and the log says so; ``stamps`` and ``rows`` in time order, as ``values``."""
    have = np.flatnonzero(~np.isnan(values))
    if not len(values):
        return stamps, values, rows
    if not len(have):
        raise UserError(f"column {name!r} has no values")
    first, last = int(have[0]), int(have[-1])
    if first:
        log.info("left out %d empty rows before the first value (%s)", first, _when(stamps, rows, 0, first - 1))
    if last < len(values) - 1:
        log.info("left out %d empty rows after the last value (%s)", len(values) - 1 - last,
                 _when(stamps, rows, last + 1, len(values) - 1))
    kept = slice(first, last + 1)
    return (None if stamps is None else stamps.iloc[kept].reset_index(drop=True)), values[kept], rows[kept]


def handle_missing(values: np.ndarray, policy: str, name: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the ``policy`` to the gaps inside the series (empty cells, and absent periods of the calendar,
    whose row is -1): the values left and their positions (all of them unless ``drop``). ``rows`` are the
    file's row numbers, for messages. The series starts and ends with a value (``trim_empty_ends``)."""
    gaps = np.flatnonzero(np.isnan(values))
    keep = np.arange(len(values))
    if len(gaps) == 0:
        return values, keep
    if policy == "error":
        listed = ", ".join(str(rows[i]) for i in gaps[:SHOWN]) + (", ..." if len(gaps) > SHOWN else "")
        raise ArgumentError("missing", policy, f"column {name!r} has {len(gaps)} empty cells (rows {listed}); "
                            "'interpolate' or 'drop' accepts them")
    if policy == "interpolate":
        absent = int(np.sum(rows[gaps] < 0))
        log.info("filled %d missing values by linear interpolation: %d empty cells, %d periods of the calendar "
                 "with no row (missing: interpolate)", len(gaps), len(gaps) - absent, absent)
        return pd.Series(values).interpolate(method="linear").to_numpy(), keep
    log.info("left out %d empty cells (missing: drop)", len(gaps))
    kept = keep[~np.isnan(values)]
    return values[kept], kept


def calendar_for(stamps: pd.Series, freq: str) -> Calendar | None:
    """``freq``: 'none' (rows are consecutive steps), 'auto' (inferred), or a pandas alias for dates."""
    if freq == "none" or (freq == "auto" and len(stamps) < 3):  # two stamps show no frequency
        return None
    if freq == "auto":
        return infer_calendar(stamps)
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        raise ArgumentError("freq", freq, "the time column is a step index, not dates; use 'auto' or 'none'")
    return Calendar(freq)


def fill_calendar(stamps: pd.Series, values: np.ndarray, rows: np.ndarray, calendar: Calendar, freq: str,
                  missing: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Check the stamps against the calendar; absent periods are an error, or under ``missing``
    'interpolate' get a row (an empty value, filled later), or under 'drop' stay absent."""
    absent, off = absent_periods(stamps, calendar)
    if len(off):
        raise ArgumentError("freq", freq, f"{len(off)} time stamps are not on the calendar of frequency "
                            f"{calendar.freq or calendar.step}: {shown(off)}; name the frequency, or use 'none'")
    if missing == "drop" and len(absent):
        log.info("%d periods of the calendar have no row; left out (missing: drop)", len(absent))
    if not len(absent) or missing == "drop":
        return stamps, values, rows
    if missing == "error":
        raise ArgumentError("freq", freq, f"{len(absent)} periods of the calendar ({calendar.freq or calendar.step}) "
                            f"have no row: {shown(absent)}; missing 'interpolate' fills them in, missing 'drop' leaves "
                            "them out, freq 'none' treats the rows as consecutive steps")
    full = calendar.periods(stamps.iloc[0], stamps.iloc[-1])
    where = pd.Index(stamps).get_indexer(full)  # -1: an absent period
    filled = np.where(where >= 0, values[where], np.nan)
    return pd.Series(full), filled, np.where(where >= 0, rows[where], -1)


def _columns(table: Table, column: str | None, time_column: str | None, start: int | None, stop: int | None,
             decimal: str | None) -> tuple[str | None, str, pd.Series | None, np.ndarray, np.ndarray]:
    """The time and value columns, the time stamps (None without a time column), the values as numbers and
    the file's row numbers of rows ``start:stop``, in the file's order."""
    frame = table.frame
    time_col = find_time_column(frame, time_column, column)
    value_col = find_value_column(table, column, time_col)
    check_formulas(table, value_col)
    start = start or 0
    sliced = frame.iloc[start:stop]
    rows = table.header_row + 1 + start + np.arange(len(sliced))  # the file's row numbers
    values = to_numbers(sliced[value_col].reset_index(drop=True), str(value_col), rows[0] if len(rows) else 0,
                        decimal, "," if table.sep == ";" else None)
    if time_col is None:
        return time_col, value_col, None, values, rows
    # A line with no cell at all (a trailing blank line, a formatted empty row) has no time: not a row.
    lines = ~sliced.isna().all(axis=1).to_numpy()
    values, rows = values[lines], rows[lines]
    stamps = parse_stamps(sliced[time_col].reset_index(drop=True)[lines].reset_index(drop=True), str(time_col), rows)
    return time_col, value_col, stamps, values, rows


def select_series(table: Table, *, column: str | None, time_column: str | None, start: int | None,
                  stop: int | None, missing: str, sort: bool = False, freq: str = "auto",
                  decimal: str | None = None) -> tuple[pd.DataFrame, SeriesInfo]:
    """Select, slice, order and clean the series: columns ``time`` (when present) and ``value``, and what
    was found out about it (the columns used, the frequency)."""
    with header_hint(table):
        time_col, value_col, stamps, values, rows = _columns(table, column, time_column, start, stop, decimal)
    calendar = None
    if stamps is not None:
        check_unique(stamps, str(time_col), rows)
        positions = order(stamps, str(time_col), rows, sort)
        stamps, values, rows = stamps.iloc[positions].reset_index(drop=True), values[positions], rows[positions]
    stamps, values, rows = trim_empty_ends(stamps, values, rows, str(value_col))
    if stamps is not None:
        calendar = calendar_for(stamps, freq)
        if calendar is not None:
            stamps, values, rows = fill_calendar(stamps, values, rows, calendar, freq, missing)
    values, keep = handle_missing(values, missing, str(value_col), rows)
    out = pd.DataFrame({"value": values})
    if time_col is not None:
        out.insert(0, "time", stamps.iloc[keep].reset_index(drop=True))
    info = SeriesInfo(str(value_col), None if time_col is None else str(time_col),
                      calendar.freq if calendar else None, calendar.step if calendar else None, len(out))
    return out, info
