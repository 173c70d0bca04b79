"""Files as people export them: CSV dialects, title lines above the headers, formulas without stored values,
and time order, through the ingest stage's main."""
import logging

import numpy as np
import openpyxl
import pandas as pd
import pytest

from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.data.reading import detect_separator
from pipeline.ingest import main
from tests.helpers import ROOT, write_params

OUT = ["--out", "data/series.parquet", "--info", "data/series.json"]


def run_ingest(folder, text_or_none, **params):
    """Write ``text`` (when given) as the file params name, run ingest's main; its exit code."""
    path = params.setdefault("path", "s.csv")
    if text_or_none is not None:
        (folder / path).write_text(text_or_none)
    write_params(folder / "params.yaml", {"ingest": params})
    return main(["--params", "params.yaml", *OUT])


def written(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "data" / "series.parquet")


@pytest.mark.parametrize("text, expected", [
    ("date;sales\n2020-01-01;50,251\n2020-02-01;78,600\n2020-03-01;1.078,5\n", [50.251, 78.6, 1078.5]),
    ("date;sales\n2020-01-01;50,251\n2020-02-01;78,600\n2020-03-01;81,000\n", [50.251, 78.6, 81.0]),
    ("date\tsales\n2020-01-01\t1.5\n2020-02-01\t2.5\n2020-03-01\t3\n", [1.5, 2.5, 3.0]),
    ("date|sales\n2020-01-01|1,234.5\n2020-02-01|2\n2020-03-01|3\n", [1234.5, 2.0, 3.0]),
    ('date,sales\n2020-01-01,"1,234.5"\n2020-02-01,"2,000"\n2020-03-01,3\n', [1234.5, 2000.0, 3.0]),
])
def test_csv_dialects_are_detected(in_tmp, text, expected):
    # The European file: ';' separates, ',' marks decimals (pandas alone read 251, 786, ...).
    assert run_ingest(in_tmp, text) == 0
    assert written(in_tmp)["value"].tolist() == pytest.approx(expected)


def test_separator_and_decimal_can_be_named(in_tmp):
    text = "date;sales\n2020-01-01;1.234\n2020-02-01;2.000\n2020-03-01;3\n"
    assert run_ingest(in_tmp, text, sep=";", decimal=",") == 0
    assert written(in_tmp)["value"].tolist() == [1234.0, 2000.0, 3.0]  # dots group thousands here
    assert run_ingest(in_tmp, text, sep=";", decimal=".") == 0
    assert written(in_tmp)["value"].tolist() == [1.234, 2.0, 3.0]
    assert detect_separator(text.splitlines()) == ";"


def test_a_value_read_two_ways_names_its_row(in_tmp, capsys):
    assert run_ingest(in_tmp, "date,sales\n2020-01-01,1\n2020-02-01,\"1,250\"\n2020-03-01,3\n") == 2
    assert capsys.readouterr().err == ("error: ingest.decimal=None: column 'sales' row 3: '1,250' is ambiguous, 1250 "
                                       "(comma for thousands) or 1.25 (comma for decimals); write it as 1250 or as "
                                       "1.25, or name the decimal mark, '.' or ','\n")
    assert not (in_tmp / "data" / "series.parquet").exists()


def test_a_title_above_the_header_is_named_and_header_row_reads_past_it(in_tmp, capsys):
    text = "Sales report 2020\ndate,value\n2020-01-01,1\n2020-02-01,x\n2020-03-01,3\n"
    assert run_ingest(in_tmp, text) == 2
    assert capsys.readouterr().err == ("error: ingest.header_row=1: line 2 has 2 fields (',' separated) but the "
                                       "header line 1 has 1; a title above the column names on line 2? "
                                       "set it to 2\n")
    assert run_ingest(in_tmp, None, header_row=2) == 2
    assert "column 'value' row 4: 'x' is not a number" in capsys.readouterr().err  # the file's own line number
    assert run_ingest(in_tmp, text.replace(",x", ",2"), header_row=2) == 0
    assert written(in_tmp)["value"].tolist() == [1.0, 2.0, 3.0]


def test_header_row_in_a_workbook(in_tmp):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [["Monthly sales, units"], [], ["month", "units"], ["2020-01-01", 5], ["2020-02-01", 6],
                ["2020-03-01", 7]]:
        sheet.append(row)
    book.save(in_tmp / "s.xlsx")
    assert run_ingest(in_tmp, None, path="s.xlsx", header_row=3) == 0
    assert written(in_tmp)["value"].tolist() == [5.0, 6.0, 7.0]


def formula_book(folder, with_other_column: bool):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["date", "base", "sales"] if with_other_column else ["date", "sales"])
    for i in range(6):
        stamp = f"2020-0{i + 1}-01"
        # openpyxl stores formulas without computing them: no value is cached, as in many generated files.
        sheet.append([stamp, i, f"=B{i + 2}*2"] if with_other_column else [stamp, f"={i}*2"])
    book.save(folder / "f.xlsx")


@pytest.mark.parametrize("with_other_column", [True, False])
def test_formulas_without_stored_values_are_named_with_the_fix(in_tmp, capsys, with_other_column):
    # With another numeric column beside it, ingest once trained on that one without a word.
    formula_book(in_tmp, with_other_column)
    params = {"column": "sales"} if not with_other_column else {}
    assert run_ingest(in_tmp, None, path="f.xlsx", **params) == 2
    err = capsys.readouterr().err
    if with_other_column:
        assert err == "error: ingest.column=None: several numeric columns (base, sales); name one of them\n"
        assert run_ingest(in_tmp, None, path="f.xlsx", column="sales") == 2
        err = capsys.readouterr().err
    formula = "=B2*2" if with_other_column else "=0*2"
    assert err == (f"error: column 'sales' row 2: the formula {formula} has no stored value (6 such cells); open the "
                   "workbook in a spreadsheet program and save it, so the values are stored\n")


def test_the_log_names_column_time_column_frequency_and_rows(in_tmp, caplog):
    with caplog.at_level(logging.INFO):
        assert run_ingest(in_tmp, "when;units\n2020-01-06;1\n2020-01-13;2\n2020-01-20;3\n2020-01-27;4\n",
                          time_column="when") == 0
    assert ("read 4 rows from s.csv (separator ';', header at row 1): column 'units', time column 'when', "
            "frequency W-MON; wrote 4 values") in caplog.text
    assert SeriesInfo.read(in_tmp / "data" / "series.json") == SeriesInfo("units", "when", "W-MON", None, 4)


def shipped_csv(folder, order=None, drop=None, repeat=None) -> str:
    frame = pd.read_excel(ROOT / "data" / "sunspots.xlsx", sheet_name="sunspots")
    if drop is not None:
        frame = frame.drop(index=drop)
    if repeat is not None:
        frame = pd.concat([frame, frame.iloc[[repeat]]])
    if order is not None:
        frame = frame.iloc[order(len(frame))]
    frame.to_csv(folder / "s.csv", index=False)
    return "s.csv"


def test_the_shipped_series_in_any_order_gives_the_same_series_or_one_clear_error(in_tmp, capsys):
    assert run_ingest(in_tmp, None, path=shipped_csv(in_tmp)) == 0
    clean = (in_tmp / "data" / "series.parquet").read_bytes()
    assert len(written(in_tmp)) == 2820
    shuffle = lambda n: np.random.default_rng(0).permutation(n)  # noqa: E731
    newest_first = lambda n: np.arange(n)[::-1]  # noqa: E731
    for order in (shuffle, newest_first):
        assert run_ingest(in_tmp, None, path=shipped_csv(in_tmp, order)) == 2
        assert "ingest.sort=False: rows are not in time order" in capsys.readouterr().err
        assert run_ingest(in_tmp, None, path="s.csv", sort=True) == 0
        assert (in_tmp / "data" / "series.parquet").read_bytes() == clean  # so every metric is the same
    assert run_ingest(in_tmp, None, path=shipped_csv(in_tmp, repeat=100)) == 2
    assert "repeats 1 time stamps: 1757-05-01 00:00:00 (rows 102, 2822)" in capsys.readouterr().err
    assert run_ingest(in_tmp, None, path=shipped_csv(in_tmp, drop=[500, 501])) == 2
    assert "ingest.freq='auto': 2 periods of the calendar (MS) have no row: 1790-09-01" in capsys.readouterr().err
    assert run_ingest(in_tmp, None, path="s.csv", missing="interpolate") == 0
    assert len(written(in_tmp)) == 2820


def test_a_csv_written_with_its_time_zone_across_a_clock_change(in_tmp):
    stamps = pd.date_range("2021-03-27", periods=72, freq="h", tz="Europe/Berlin")  # 23 hours on the 28th
    pd.DataFrame({"time": stamps, "load": np.arange(72.0)}).to_csv(in_tmp / "s.csv", index=False)
    assert "+01:00" in (in_tmp / "s.csv").read_text() and "+02:00" in (in_tmp / "s.csv").read_text()
    assert run_ingest(in_tmp, None) == 0
    out = written(in_tmp)
    assert len(out) == 72 and out["time"].is_monotonic_increasing and out["value"].tolist() == list(range(72))
    assert SeriesInfo.read(in_tmp / "data" / "series.json").freq == "h"


def test_european_dates_are_day_first_and_one_convention_reads_every_cell(in_tmp):
    text = "date;sales\n01.02.2020;1.234\n01.03.2020;3,5\n01.04.2020;2\n"
    assert run_ingest(in_tmp, text) == 0
    out = written(in_tmp)
    assert [str(t.date()) for t in out["time"]] == ["2020-02-01", "2020-03-01", "2020-04-01"]
    assert out["value"].tolist() == [1234.0, 3.5, 2.0]  # 3,5 settles the comma for decimals: 1.234 is 1234
    assert SeriesInfo.read(in_tmp / "data" / "series.json").freq == "MS"


def test_a_step_index_written_as_text(in_tmp):
    assert run_ingest(in_tmp, "step,value\n0,1\n1,2\n2,3\n4,5\n", missing="interpolate") == 0
    out = written(in_tmp)
    assert out["time"].tolist() == [0, 1, 2, 3, 4] and out["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_blank_lines_have_no_time_and_are_not_rows(in_tmp):
    # A trailing blank line, and one in the middle: no stamp, no value, so no period of the series either.
    assert run_ingest(in_tmp, "date,v\n2020-01-01,1\n\n2020-02-01,2\n2020-03-01,3\n\n") == 0
    assert written(in_tmp)["value"].tolist() == [1.0, 2.0, 3.0]
    assert run_ingest(in_tmp, "date,v\n2020-01-01,1\n2020-02-01,\n2020-03-01,3\n") == 2  # an empty value is not


# --- issue 19: empty rows at the ends, the time column by its content, a title above the header ---


def monthly_csv(values, start="2020-01-01", header="month,sales") -> str:
    stamps = pd.date_range(start, periods=len(values), freq="MS")
    return header + "\n" + "".join(f"{t.date()},{v}\n" for t, v in zip(stamps, values))


def test_empty_rows_before_the_first_value_and_after_the_last_are_left_out(in_tmp, caplog):
    # A sheet laid out for the coming months: their rows have a date and no value yet.
    text = monthly_csv(["", "1", "2", "", "4", "5", "", "", ""])
    with caplog.at_level(logging.INFO):
        assert run_ingest(in_tmp, text, missing="interpolate") == 0
    out = written(in_tmp)
    assert [str(t.date()) for t in out["time"]] == [f"2020-{m:02d}-01" for m in range(2, 7)]
    assert out["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]  # one gap filled, none at the ends
    assert "left out 1 empty rows before the first value (2020-01-01)" in caplog.text
    assert "left out 3 empty rows after the last value (2020-07-01 to 2020-09-01)" in caplog.text
    assert ("filled 1 missing values by linear interpolation: 1 empty cells, 0 periods of the calendar with no "
            "row (missing: interpolate)") in caplog.text
    assert run_ingest(in_tmp, text, missing="drop") == 0
    assert written(in_tmp)["value"].tolist() == [1.0, 2.0, 4.0, 5.0]
    assert run_ingest(in_tmp, text.replace("2020-04-01,\n", "2020-04-01,3\n")) == 0  # missing: error
    assert written(in_tmp)["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_absent_periods_are_counted_among_the_filled_values(in_tmp, caplog):
    # 2020-03 has an empty cell, 2020-09 no row at all, 2021-01 is a month to come.
    text = monthly_csv(["1", "2", "", *map(str, range(4, 14)), ""]).replace("2020-09-01,9\n", "")
    with caplog.at_level(logging.INFO):
        assert run_ingest(in_tmp, text, missing="interpolate") == 0
    assert written(in_tmp)["value"].tolist() == [float(v) for v in range(1, 14)]
    assert ("filled 2 missing values by linear interpolation: 1 empty cells, 1 periods of the calendar with no "
            "row (missing: interpolate)") in caplog.text
    assert "left out 1 empty rows after the last value (2021-02-01)" in caplog.text


def test_predict_reads_the_history_as_ingest_does(in_tmp):
    import argparse

    from pipeline.predict import read_history

    (in_tmp / "h.csv").write_text(monthly_csv(["1", "", "3"] + [""] * 6))
    args = argparse.Namespace(history=in_tmp / "h.csv", sheet=None, column=None, time_column=None, header_row=1,
                              sep=None, missing="interpolate", sort=False, freq="auto", decimal=None)
    series, info = read_history(args)
    assert series["value"].tolist() == [1.0, 2.0, 3.0]  # the forecast starts after 2020-03, not after 2020-09
    assert str(series["time"].iloc[-1].date()) == "2020-03-01" and info.freq == "MS"


@pytest.mark.parametrize("stamps", [
    ["2019 Q1", "2019 Q2", "2019 Q3", "2019 Q4", "2020 Q1"],
    ["2019Q1", "2019Q2", "2019Q3", "2019Q4", "2020Q1"],
    ["Q1 2019", "Q2 2019", "Q3 2019", "Q4 2019", "Q1 2020"],
])
def test_quarters_written_as_periods_are_the_time_column(in_tmp, caplog, stamps):
    from lstm_forecast.prep.features import season_for

    text = "quarter,revenue\n" + "".join(f"{s},{10 + i}\n" for i, s in enumerate(stamps))
    for params in ({}, {"column": "revenue"}):  # naming the value column keeps the dates
        with caplog.at_level(logging.INFO):
            assert run_ingest(in_tmp, text, **params) == 0
        out = written(in_tmp)
        assert [str(t.date()) for t in out["time"]] == ["2019-01-01", "2019-04-01", "2019-07-01", "2019-10-01",
                                                        "2020-01-01"]
        assert out["value"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
        info = SeriesInfo.read(in_tmp / "data" / "series.json")
        assert (info.time_column, info.freq, season_for(info.freq)[0]) == ("quarter", "QS-OCT", 4)
        assert f"time column 'quarter': every cell is a date or period, such as {stamps[0]}" in caplog.text


@pytest.mark.parametrize("header, stamps, freq", [
    ("Datum;Umsatz", ["31.01.2020", "29.02.2020", "31.03.2020"], "ME"),
    ("period;sales", ["2020-01", "2020-02", "2020-03"], "MS"),
    ("period;sales", ["Jan 2020", "Feb 2020", "Mar 2020"], "MS"),
])
def test_a_column_of_dates_is_found_by_its_content(in_tmp, header, stamps, freq):
    text = header + "\n" + "".join(f"{s};1.23{i},5\n" for i, s in enumerate(stamps))  # European numbers
    assert run_ingest(in_tmp, text) == 0
    assert written(in_tmp)["value"].tolist() == [1230.5, 1231.5, 1232.5]
    info = SeriesInfo.read(in_tmp / "data" / "series.json")
    assert (info.time_column, info.freq) == (header.split(";")[0], freq)


@pytest.mark.parametrize("text, message", [
    # Years and values are numbers, not dates: two numeric columns, as before.
    ("year,sales\n2020,398.9\n2021,400.1\n2022,401.5\n",
     "error: ingest.column=None: several numeric columns (year, sales); name one of them\n"),
    ("when,updated,sales\n2020-01-01,2021-05-01,1\n2020-02-01,2021-05-02,2\n2020-03-01,2021-05-03,3\n",
     "error: ingest.time_column=None: columns 'when' and 'updated' hold dates; name the one that is the time "
     "column\n"),
])
def test_numbers_are_no_dates_and_two_date_columns_need_a_choice(in_tmp, capsys, text, message):
    assert run_ingest(in_tmp, text) == 2
    assert capsys.readouterr().err == message


def test_a_date_column_named_like_a_time_is_chosen_among_columns_of_dates(in_tmp):
    text = "date,updated,sales\n2020-01-01,2021-05-01,1\n2020-02-01,2021-05-02,2\n2020-03-01,2021-05-03,3\n"
    assert run_ingest(in_tmp, text) == 0
    assert SeriesInfo.read(in_tmp / "data" / "series.json") == SeriesInfo("sales", "date", "MS", None, 3)


def title_book(folder) -> str:
    book = openpyxl.Workbook()
    for row in [["Monthly sales, all stores"], [], ["month", "sales"]] + [
            [pd.Timestamp(f"2020-0{m}-01").to_pydatetime(), m] for m in range(1, 5)]:
        book.active.append(row)
    book.save(folder / "t.xlsx")
    return "t.xlsx"


@pytest.mark.parametrize("params", [{}, {"column": "sales"}])
def test_a_title_line_points_to_header_row_in_a_csv_and_in_a_workbook(in_tmp, capsys, params):
    text = "Monthly sales, all stores\n" + monthly_csv(["1", "2", "3", "4"])
    assert run_ingest(in_tmp, text, **params) == 2
    assert capsys.readouterr().err == ("error: ingest.header_row=1: the column names seem to be on line 2 ('month', "
                                       "'sales'), with a title above them; set it to 2\n")
    assert run_ingest(in_tmp, None, header_row=2, **params) == 0
    assert written(in_tmp)["value"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert run_ingest(in_tmp, None, path=title_book(in_tmp), **params) == 2
    assert capsys.readouterr().err == ("error: ingest.header_row=1: the column names seem to be on row 3 ('month', "
                                       "'sales'), with a title above them; set it to 3\n")
    assert run_ingest(in_tmp, None, path="t.xlsx", header_row=3, **params) == 0
    assert written(in_tmp)["value"].tolist() == [1.0, 2.0, 3.0, 4.0]
