"""Calendar inputs: the position of each time stamp in its day, week or year as a sine and a cosine, fed to
the LSTM beside the value, so a seasonal pattern is read from the clock instead of inferred from the lags."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_forecast.errors import ArgumentError


def _phase(name: str, t: pd.Series) -> np.ndarray:
    """Where each stamp falls in the cycle ``name``, in [0, 1)."""
    if name == "month":
        return ((t.dt.month - 1) / 12).to_numpy()
    if name == "quarter":
        return ((t.dt.quarter - 1) / 4).to_numpy()
    if name == "dayofweek":
        return (t.dt.dayofweek / 7).to_numpy()
    if name == "dayofyear":
        return ((t.dt.dayofyear - 1) / (365 + t.dt.is_leap_year.astype(int))).to_numpy()
    if name == "hour":
        return ((t.dt.hour + t.dt.minute / 60) / 24).to_numpy()
    raise ArgumentError("calendar", name, f"is not a calendar feature; choose from: {', '.join(CALENDAR)}")


# Each feature's cycle; the stamps' local wall time is read, so a time-zone-aware day starts at local midnight.
CALENDAR = ("month", "quarter", "dayofweek", "dayofyear", "hour")


def calendar_features(times: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """(len(times), 2 * len(names)) float32: sin and cos of 2 pi * phase for each name, in that order."""
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise ArgumentError("calendar", list(names), "needs a time column of dates; the series has "
                            + ("none" if times is None else f"a {times.dtype} time column (a step index)"))
    columns = []
    for name in names:
        angle = 2 * np.pi * _phase(name, times).astype(np.float64)
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1).astype(np.float32) if columns else np.zeros((len(times), 0), np.float32)


# ``calendar: auto``: the cycles a frequency's stamps go through, by pandas offset type. Daily data gets the
# week only: a year of days would put each day of the year once in a short training span.
AUTO_CALENDAR = {
    "MonthBegin": ("month",), "MonthEnd": ("month",), "QuarterBegin": ("quarter",), "QuarterEnd": ("quarter",),
    "Week": ("dayofyear",), "Day": ("dayofweek",), "BusinessDay": ("dayofweek",),
    "Hour": ("hour", "dayofweek"), "BusinessHour": ("hour", "dayofweek"), "Minute": ("hour", "dayofweek"),
}


def calendar_for(freq: str | None) -> tuple[str, ...]:
    """The calendar inputs ``calendar: auto`` feeds for a series of frequency ``freq`` (a pandas alias; None
    for rows without dates, which get none)."""
    if freq is None:
        return ()
    from pandas.tseries.frequencies import to_offset

    return AUTO_CALENDAR.get(type(to_offset(freq)).__name__, ())


# ``season: auto``: how many steps of a frequency make its calendar cycle, by pandas offset type (one step
# of n = 1): a year of months, quarters or weeks, a week of days or business days, a year of years (1, no
# season). Ticks shorter than a day (hours, minutes, ...) and business hours take a day instead, below.
AUTO_SEASON = {
    "MonthBegin": (12, "year"), "MonthEnd": (12, "year"), "BusinessMonthBegin": (12, "year"),
    "BusinessMonthEnd": (12, "year"), "QuarterBegin": (4, "year"), "QuarterEnd": (4, "year"),
    "BQuarterBegin": (4, "year"), "BQuarterEnd": (4, "year"), "Week": (52, "year"), "Day": (7, "week"),
    "BusinessDay": (5, "week"), "YearBegin": (1, "year"), "YearEnd": (1, "year"), "BYearBegin": (1, "year"),
    "BYearEnd": (1, "year"),
}
DAY_NS = 24 * 3600 * 10**9


def _minutes(t) -> int:
    return 60 * t.hour + t.minute


def _cycle(offset) -> tuple[int, int, str] | None:
    """(the cycle's length, one step's length, in one unit; the cycle's name) of a pandas offset, or None."""
    from pandas.tseries import offsets

    name = type(offset).__name__
    if name in AUTO_SEASON:
        steps, cycle = AUTO_SEASON[name]  # n = 1 steps in the cycle; a step of n is n of them
        return steps, offset.n, cycle
    if isinstance(offset, offsets.Tick) and 0 < offset.nanos < DAY_NS:
        return DAY_NS, offset.nanos, "day"
    if isinstance(offset, offsets.Tick) and offset.nanos % DAY_NS == 0:  # 24h, 1440min: days, in a week
        return 7 * DAY_NS, offset.nanos, "week"
    if isinstance(offset, offsets.BusinessHour):
        # Opening hours may cross midnight: each span is end - start modulo a day.
        day = sum((_minutes(end) - _minutes(start)) % (24 * 60) for start, end in zip(offset.start, offset.end))
        return day, 60 * offset.n, "business day"
    return None


def season_for(freq: str | None) -> tuple[int, str]:
    """The seasonal lag, in steps, of a series of frequency ``freq`` (a pandas alias; None for rows without
    dates), and why: the steps in a year of monthly (12), quarterly (4) or weekly (52) data, in a week of
    daily (7) or business-daily (5) data, in a day of sub-daily data (24 hourly, 48 half-hourly); "2MS" 6.
    1 (no season) where no calendar cycle is a whole number of more than one step."""
    if freq is None:
        return 1, "the rows have no dates, so everything works in steps"
    from pandas.tseries.frequencies import to_offset

    cycle = _cycle(to_offset(freq))
    if cycle is None:
        return 1, f"no calendar cycle is known for {freq} steps"
    length, step, name = cycle
    if step <= 0 or length % step:
        return 1, f"a {name} is no whole number of {freq} steps"
    if length == step:
        return 1, f"a {name} is a single {freq} step"
    return length // step, f"a {name} of {freq} steps"


def auto_time_step(season: int, train_length: int) -> int:
    """The input length ``time_step: auto`` picks: three seasons, at least 16 and at most 192 steps, and at
    most a third of the training span, so that two thirds of it still start a training window."""
    return max(1, min(max(3 * season, 16), 192, train_length // 3))


def auto_time_step_reason(season: int, train_length: int) -> str:
    """Why ``auto_time_step`` chose what it did, for the log: the rule that decided."""
    three = 3 * season
    chosen = auto_time_step(season, train_length)
    if chosen == train_length // 3 and chosen < min(max(three, 16), 192):
        return (f"three seasons of {season} would be {three}; capped at a third of the {train_length} training "
                "values")
    if chosen == 192 and three > 192:
        return f"three seasons of {season} would be {three}; capped at 192"
    if chosen == 16 and three < 16:
        return f"three seasons of {season} would be {three}; raised to at least 16"
    return f"three seasons of {season}, within [16, 192] and a third of the {train_length} training values"
