"""Files as people export them: CSV dialects, title lines above the headers, formulas without stored values,
and time order, through the ingest stage's main."""
import logging

import numpy as np
import openpyxl
import pandas as pd
import pytest

from lstm_forecast.artifacts import SeriesInfo
from lstm_forecast.reading import detect_separator
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
                                       "header line 1 has 1; a title above the column names? name the line that "
                                       "holds them\n")
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
