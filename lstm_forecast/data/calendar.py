"""Time stamps of a series: parsed, in order, unique, and on a calendar of one frequency.

A calendar is what pandas makes of a frequency alias (``pd.date_range(first, last, freq=alias)``): months
start on the 1st (``MS``), business days skip weekends (``B``), business hours run 9:00 to 17:00 on
weekdays (``bh``), and stamps with a time zone keep their wall-clock times across daylight-saving changes.
A numeric time column is a step index: its calendar is every ``step`` from the first to the last.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_forecast.data.cells import text_readings
from lstm_forecast.errors import ArgumentError, UserError

log = logging.getLogger(__name__)

# Stamps per vote when a frequency is inferred from a series with gaps: the alias most runs agree on.
VOTE_RUN = 5
# A step index written as text, and the European day.month.year date.
NUMBER_TEXT = r"[+-]?\d+(\.\d+)?"
DOTTED_DATE = r"\d{1,2}\.\d{1,2}\.\d{4}( .*)?"
# A quarter written as a period: 2024 Q1, 2024Q1, 2024-Q1, Q1 2024.
QUARTER = re.compile(r"(?i)(\d{4})\s*-?\s*Q([1-4])|Q([1-4])\s*-?\s*(\d{4})")
# What a date or a period written as text has: a four-digit year, or a day, month and two-digit year. Without
# it pandas reads words such as 'Jan' as a date of this year.
DATE_SHAPE = r".*(\d{4}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2}).*"
# How many offending stamps or rows a message lists.
SHOWN = 5


@dataclass(frozen=True)
class Calendar:
    """The stamps a series should have: ``freq`` a pandas alias for dates, or a ``step`` for a numeric index."""

    freq: str | None
    step: float | None = None

    def periods(self, first: object, last: object) -> pd.Index:
        if self.freq is not None:
            return pd.date_range(first, last, freq=self.freq)
        return pd.Index(np.arange(first, last + self.step / 2, self.step))


def known_freq(freq: str) -> bool:
    """Whether ``freq`` is what the ``freq`` option takes: auto, none, or a pandas frequency alias."""
    if freq in ("auto", "none"):
        return True
    try:
        pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return False
    return True


def _listed(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _quarter_starts(text: pd.Series) -> pd.Series:
    """The first day of each quarter written as a period (2024 Q1: 2024-01-01)."""
    parts = text.str.extract(QUARTER)
    year, quarter = parts[0].fillna(parts[3]).astype(int), parts[1].fillna(parts[2]).astype(int)
    return pd.to_datetime(pd.DataFrame({"year": year, "month": 3 * quarter - 2, "day": 1}))


def _to_datetime(text: pd.Series) -> pd.Series:
    """Dates from text: quarters such as 2024 Q1 as their first day; day first for the European 31.12.2020;
    stamps whose UTC offsets differ (a series written with its time zone across a daylight-saving change)
    as UTC instants, whose order and calendar are those of the series."""
    cells = text.dropna()
    if len(cells) and cells.str.fullmatch(QUARTER).all():
        return _quarter_starts(cells).reindex(text.index)
    dayfirst = bool(text.dropna().str.fullmatch(DOTTED_DATE).all())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas' notice about mixed offsets, handled below
        stamps = pd.to_datetime(text, format="mixed", dayfirst=dayfirst, errors="coerce")
    if not pd.api.types.is_datetime64_any_dtype(stamps):  # several UTC offsets: an object column of datetimes
        stamps = pd.to_datetime(text, format="mixed", dayfirst=dayfirst, errors="coerce", utc=True)
    return stamps


def holds_dates(raw: pd.Series) -> bool:
    """Whether every non-empty cell of ``raw`` is a date or a period (2024-03, 2024 Q1, Jan 2024, 31.01.2020),
    and there is one. Numbers are not dates, nor is text that reads as a number: a column of values or of
    years (2020, 2021, ...) is no time column by its content."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return bool(raw.notna().any())
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        return False
    cells = [c.strip() if isinstance(c, str) else c for c in raw.dropna()]
    cells = [c for c in cells if not isinstance(c, str) or c]
    if not cells or not all(isinstance(c, (str, dt.date, np.datetime64)) for c in cells):
        return False
    text = [c for c in cells if isinstance(c, str)]
    # The first cell alone settles most columns (a column of values), before every cell is parsed.
    for sample in (text[:1], text):
        if any(not re.fullmatch(DATE_SHAPE, c) or text_readings(c) for c in sample):
            return False
    return bool(_to_datetime(pd.Series(text, dtype="string")).notna().all())


def parse_stamps(raw: pd.Series, name: str, rows: np.ndarray) -> pd.Series:
    """Dates as datetime64 (a time zone kept), numbers as a numeric step index; ``rows`` are the file's row
    numbers, for messages. Text that is not a date is an error naming its row."""
    text = raw.astype("string").str.strip()
    if pd.api.types.is_datetime64_any_dtype(raw) or (pd.api.types.is_numeric_dtype(raw)
                                                     and not pd.api.types.is_bool_dtype(raw)):
        stamps = raw
    elif text.dropna().str.fullmatch(NUMBER_TEXT).all() and text.notna().any():
        numbers = pd.to_numeric(text).to_numpy(dtype=np.float64)  # a step index stored as text (a CSV)
        stamps = pd.Series(numbers.astype(np.int64) if np.all(numbers == np.round(numbers)) else numbers)
    else:
        stamps = _to_datetime(text)
        bad = np.flatnonzero(stamps.isna().to_numpy() & raw.notna().to_numpy())
        if len(bad):
            raise UserError(f"time column {name!r} row {rows[bad[0]]}: {raw.iloc[bad[0]]!r} is not a date or time "
                            f"({len(bad)} such cells)")
    empty = np.flatnonzero(stamps.isna().to_numpy())
    if len(empty):
        raise UserError(f"time column {name!r} has {len(empty)} empty cells (rows "
                        f"{_listed([str(rows[i]) for i in empty])}); every row needs its time")
    return stamps.reset_index(drop=True)


def _sort_key(stamps: pd.Series) -> np.ndarray:
    """Comparable numbers: stamps with a time zone as UTC instants, others as they are."""
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        return stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return stamps.to_numpy()


def order(stamps: pd.Series, name: str, rows: np.ndarray, sort: bool) -> np.ndarray:
    """Positions that put the rows in time order: the identity when they already are; a stable sort when
    ``sort``; otherwise an ArgumentError about ``sort`` naming the first row out of order."""
    values = _sort_key(stamps)
    back = np.flatnonzero(values[1:] < values[:-1])
    if not len(back):
        return np.arange(len(stamps))
    if sort:
        log.info("sorted the rows by their time column %r (%d rows were out of order)", name, len(back))
        return np.argsort(values, kind="stable")
    i = back[0] + 1
    newest_first = len(back) == len(stamps) - 1
    how = "the file runs newest first" if newest_first else f"{len(back)} rows are earlier than the row above"
    raise ArgumentError("sort", sort, f"rows are not in time order: row {rows[i]} ({stamps.iloc[i]}) comes after "
                        f"row {rows[i - 1]} ({stamps.iloc[i - 1]}); {how}; true sorts them by time")


def check_unique(stamps: pd.Series, name: str, rows: np.ndarray) -> None:
    """Duplicated stamps are an error naming the first ones and their rows, in any order."""
    dup = stamps.duplicated(keep=False).to_numpy()
    if dup.any():
        by_stamp: dict[object, list[str]] = {}
        for i in np.flatnonzero(dup):
            by_stamp.setdefault(stamps.iloc[i], []).append(str(rows[i]))
        shown = [f"{stamp} (rows {', '.join(r)})" for stamp, r in by_stamp.items()]
        raise UserError(f"time column {name!r} repeats {len(by_stamp)} time stamps: {_listed(shown)}; keep one row "
                        "per time stamp")


def _infer(index: pd.DatetimeIndex) -> str | None:
    """pandas' inferred frequency alias, or None."""
    return pd.infer_freq(index)


def infer_calendar(stamps: pd.Series) -> Calendar:
    """The series' calendar: pandas' own inference, or where gaps defeat it, the alias that most runs of
    VOTE_RUN consecutive stamps agree on; for a step index, its most common step."""
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        steps = np.diff(stamps.to_numpy(dtype=np.float64))
        return Calendar(None, float(Counter(steps.tolist()).most_common(1)[0][0]) if len(steps) else 1.0)
    index = pd.DatetimeIndex(stamps)
    freq = _infer(index) if len(index) >= 3 else None
    if freq is None:
        votes = Counter(_infer(index[i : i + VOTE_RUN]) for i in range(0, len(index) - VOTE_RUN + 1, VOTE_RUN))
        votes.pop(None, None)
        freq = votes.most_common(1)[0][0] if votes else None
    if freq is None:
        raise ArgumentError("freq", "auto", "no regular frequency found in the time stamps; name one (a pandas "
                            "alias such as 'MS', 'D', 'h', '30min') or use 'none' to treat rows as consecutive steps")
    return Calendar(freq)


def absent_periods(stamps: pd.Series, calendar: Calendar) -> tuple[pd.Index, pd.Index]:
    """(periods of the calendar with no row, stamps that are not on the calendar), ``stamps`` in time order."""
    expected = calendar.periods(stamps.iloc[0], stamps.iloc[-1])
    have = pd.Index(stamps)
    return expected.difference(have), have.difference(expected)
