"""Time order and calendars: what ingest makes of time stamps as people's files hold them."""
import numpy as np
import pandas as pd
import pytest

from lstm_forecast.data.calendar import Calendar, absent_periods, check_unique, infer_calendar, order, parse_stamps
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.data.reading import Table
from lstm_forecast.data.series import select_series

ROWS = np.arange(2, 12)  # file rows 2..11


def series(stamps, values=None, **kw):
    values = np.arange(len(stamps), dtype=float) if values is None else values
    table = Table(pd.DataFrame({"time": stamps, "value": values}))
    return select_series(table, column="value", time_column="time", start=None, stop=None,
                         missing=kw.pop("missing", "error"), **kw)


@pytest.mark.parametrize("stamps, freq", [
    (pd.date_range("2000-01-01", periods=30, freq="MS"), "MS"),
    (pd.date_range("2000-01-31", periods=30, freq="ME"), "ME"),
    (pd.date_range("2000-01-01", periods=30, freq="QS-OCT"), "QS-OCT"),
    (pd.date_range("1991-02-04", periods=60, freq="W-MON"), "W-MON"),
    (pd.date_range("2014-04-30", periods=60, freq="D"), "D"),
    (pd.date_range("2021-03-01", periods=60, freq="B"), "B"),
    (pd.date_range("2014-01-01", periods=200, freq="30min"), "30min"),
    (pd.date_range("2021-03-27", periods=72, freq="h", tz="Europe/Berlin"), "h"),  # across a DST change
])
def test_the_frequency_is_inferred_as_a_pandas_alias(stamps, freq):
    calendar = infer_calendar(pd.Series(stamps))
    # pandas names a quarterly calendar by any month of its quarter (QS-OCT in 2.x, QS-JAN in 3.x): the
    # calendar it makes is what counts.
    assert calendar == Calendar(freq) or (freq.startswith("QS-") and calendar.freq.startswith("QS-"))
    assert pd.date_range(stamps[0], periods=len(stamps), freq=calendar.freq).equals(stamps)
    absent, off = absent_periods(pd.Series(stamps), calendar)
    assert len(absent) == len(off) == 0


def test_gaps_do_not_defeat_inference_and_are_listed():
    stamps = pd.Series(pd.date_range("2000-01-01", periods=40, freq="MS").delete([5, 17, 18]))
    calendar = infer_calendar(stamps)
    assert calendar == Calendar("MS")
    absent, off = absent_periods(stamps, calendar)
    assert [str(p.date()) for p in absent] == ["2000-06-01", "2001-06-01", "2001-07-01"] and len(off) == 0


def test_a_numeric_time_column_is_a_step_index():
    stamps = parse_stamps(pd.Series([0, 1, 2, 4, 5]), "step", ROWS)
    assert stamps.dtype == np.int64  # not parsed as text or dates
    calendar = infer_calendar(stamps)
    assert calendar == Calendar(None, 1.0)
    assert absent_periods(stamps, calendar)[0].tolist() == [3.0]


def test_order_names_the_first_row_out_of_order():
    stamps = pd.Series(pd.to_datetime(["2000-01", "2000-02", "2000-04", "2000-03", "2000-05"]))
    with pytest.raises(ArgumentError, match=r"^sort=False: rows are not in time order: row 5 \(2000-03-01 00:00:00\) "
                                            r"comes after row 4 \(2000-04-01 00:00:00\); 1 rows are earlier"):
        order(stamps, "time", ROWS, sort=False)
    assert order(stamps, "time", ROWS, sort=True).tolist() == [0, 1, 3, 2, 4]


def test_a_newest_first_file_is_named_as_such():
    stamps = pd.Series(pd.date_range("2000-01-01", periods=6, freq="MS")[::-1])
    with pytest.raises(ArgumentError, match=r"the file runs newest first; true sorts them by time$"):
        order(stamps, "time", ROWS, sort=False)


def test_duplicated_stamps_name_the_stamps_and_rows():
    stamps = pd.Series(pd.to_datetime(["2000-01", "2000-02", "2000-02", "2000-03", "2000-03", "2000-03"]))
    with pytest.raises(UserError, match=r"^time column 'time' repeats 2 time stamps: 2000-02-01 00:00:00 "
                                        r"\(rows 3, 4\), "
                                        r"2000-03-01 00:00:00 \(rows 5, 6, 7\); keep one row per time stamp$"):
        check_unique(stamps, "time", ROWS)


def test_text_that_is_not_a_date_names_its_row():
    with pytest.raises(UserError, match=r"^time column 'time' row 4: 'soon' is not a date or time \(1 such cells\)$"):
        parse_stamps(pd.Series(["2000-01", "2000-02", "soon"]), "time", ROWS)


def test_absent_periods_are_an_error_with_the_choices():
    stamps = pd.date_range("2000-01-01", periods=24, freq="MS").delete([3, 4])
    with pytest.raises(ArgumentError, match=r"^freq='auto': 2 periods of the calendar \(MS\) have no row: "
                                            r"2000-04-01 00:00:00, 2000-05-01 00:00:00; missing 'interpolate' fills "
                                            r"them in, missing 'drop' leaves them out, freq 'none' treats the rows as "
                                            r"consecutive steps$"):
        series(stamps)
    filled, info = series(stamps, missing="interpolate")
    assert len(filled) == 24 and filled["value"].iloc[2:6].tolist() == [2.0, 2 + 1 / 3, 2 + 2 / 3, 3.0]
    assert filled["time"].tolist() == list(pd.date_range("2000-01-01", periods=24, freq="MS"))
    dropped, _ = series(stamps, missing="drop")
    assert len(dropped) == 22
    steps, info = series(stamps, freq="none")
    assert len(steps) == 22 and info.freq is None


def test_stamps_off_the_named_calendar_are_an_error():
    stamps = pd.date_range("2000-01-01", periods=10, freq="D")
    with pytest.raises(ArgumentError, match=r"^freq='W-MON': 8 time stamps are not on the calendar of frequency "
                                            r"W-MON: 2000-01-01"):
        series(stamps, freq="W-MON")


def test_business_days_and_hours_follow_pandas():
    days = pd.date_range("2021-03-01", periods=30, freq="B")
    assert series(days)[1].freq == "B"  # weekends are not absent periods
    with pytest.raises(ArgumentError, match=r"1 periods of the calendar \(B\) have no row: 2021-03-03"):
        series(days.delete(2))
    hours = pd.date_range("2021-03-01 09:00", periods=40, freq="bh")  # 9:00 to 17:00 on weekdays
    out, info = series(hours, freq="bh")
    assert info.freq == "bh" and len(out) == 40
    with pytest.raises(ArgumentError, match=r"1 periods of the calendar \(bh\) have no row: 2021-03-01 12:00"):
        series(hours.delete(3), freq="bh")


def test_daylight_saving_time_the_pandas_way():
    # With a time zone, the day the clocks go forward has 23 hours and none is missing.
    aware = pd.date_range("2021-03-27", periods=72, freq="h", tz="Europe/Berlin")
    out, info = series(aware)
    assert info.freq == "h" and len(out) == 72 and str(out["time"].dt.tz) == "Europe/Berlin"
    # Local wall-clock stamps without a zone repeat an hour when the clocks go back: a duplicate, named.
    naive = pd.Series(pd.date_range("2021-10-30 22:00", periods=8, freq="h", tz="Europe/Berlin").tz_localize(None))
    with pytest.raises(UserError, match=r"repeats 1 time stamps: 2021-10-31 02:00:00 \(rows 6, 7\)"):
        series(naive)


def test_sorting_gives_the_same_series_as_the_sorted_file():
    stamps = pd.date_range("2000-01-01", periods=30, freq="MS")
    values = np.random.default_rng(0).normal(size=30)
    clean, info = series(stamps, values)
    shuffle = np.random.default_rng(1).permutation(30)
    again, again_info = series(stamps[shuffle], values[shuffle], sort=True)
    pd.testing.assert_frame_equal(again, clean)
    assert again_info == info
