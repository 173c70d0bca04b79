import datetime
import io
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.data.reading import read_table
from pipeline.ingest import IngestParams, ingest, main
from tests.helpers import ROOT, write_params


def series_of(table, params):
    """The series ingest makes of ``table`` (a read file, or a frame as read) with ``params``."""
    return ingest(table, params)[0]


def params(**kw) -> IngestParams:
    return IngestParams(**{"path": "x.csv", **kw})


def test_shipped_workbook_is_the_sunspot_series():
    frame = read_table(str(ROOT / "data" / "sunspots.xlsx"), "sunspots")
    series = series_of(frame, IngestParams(path="data/sunspots.xlsx", sheet="sunspots"))
    assert len(series) == 2820
    assert series["value"].iloc[:3].tolist() == [58.0, 62.6, 70.0]
    assert series["value"].iloc[-1] == 33.4
    assert str(series["time"].iloc[0].date()) == "1749-01-01"
    assert str(series["time"].iloc[-1].date()) == "1983-12-01"


def test_auto_detects_time_and_single_numeric_column():
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=3), "y": [1, 2, 3]})
    out = series_of(frame, params())
    assert list(out.columns) == ["time", "value"]
    assert out["value"].tolist() == [1.0, 2.0, 3.0]


def test_start_stop_slice_rows():
    frame = pd.DataFrame({"y": np.arange(10.0)})
    assert series_of(frame, params(start=2, stop=5))["value"].tolist() == [2.0, 3.0, 4.0]


def test_several_numeric_columns_need_a_choice():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    with pytest.raises(UserError, match=r"^ingest.column=None: several numeric columns \(a, b\); name one of them$"):
        series_of(frame, params())
    assert series_of(frame, params(column="b"))["value"].tolist() == [3.0, 4.0]


def test_missing_column_lists_columns():
    with pytest.raises(UserError, match=r"^ingest.column='z': not found; columns: a, b$"):
        series_of(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), params(column="z"))


def test_non_numeric_cell_names_its_row():
    frame = pd.DataFrame({"y": [1.0, 2.0, "oops", 4.0]}, dtype=object)
    # Header is row 1, so the third data value sits in row 4.
    with pytest.raises(UserError, match=r"column 'y' row 4: 'oops' is not a number"):
        series_of(frame, params())


def test_gaps_are_an_error_by_default():
    frame = pd.DataFrame({"y": [1.0, np.nan, 3.0, np.nan, 5.0, np.nan]})  # the last one is after the series
    with pytest.raises(UserError, match=r"^ingest.missing='error': column 'y' has 2 empty cells \(rows 3, 5\); "
                                        r"'interpolate' or 'drop' accepts them$"):
        series_of(frame, params())


def test_gaps_interpolate_and_drop():
    frame = pd.DataFrame({"y": [np.nan, 1.0, np.nan, 3.0, np.nan]})
    # The empty cells before the first value and after the last are no gaps: the series is 1 to 3.
    assert series_of(frame, params(missing="interpolate"))["value"].tolist() == [1.0, 2.0, 3.0]
    assert series_of(frame, params(missing="drop"))["value"].tolist() == [1.0, 3.0]
    ends = pd.DataFrame({"y": [np.nan, 1.0, 2.0, np.nan]})
    assert series_of(ends, params(missing="error"))["value"].tolist() == [1.0, 2.0]  # under every policy


def test_drop_keeps_time_aligned():
    frame = pd.DataFrame({"date": ["2020-01", "2020-02", "2020-03"], "y": [1.0, np.nan, 3.0]})
    out = series_of(frame, params(missing="drop"))
    assert [str(t.date()) for t in out["time"]] == ["2020-01-01", "2020-03-01"]


def test_infinity_is_rejected():
    with pytest.raises(UserError, match=r"row 3: infinite value"):
        series_of(pd.DataFrame({"y": [1.0, np.inf]}), params())


def test_reads_csv_parquet_and_xlsx(tmp_path):
    frame = pd.DataFrame({"y": [1.5, 2.5, 3.5]})
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame.to_parquet(tmp_path / "s.parquet")
    book = openpyxl.Workbook()
    book.active.title = "first"
    sheet = book.create_sheet("data")
    for row in [["y"], [1.5], [2.5], [3.5]]:
        sheet.append(row)
    book.save(tmp_path / "s.xlsx")
    for name, sheet_name in [("s.csv", None), ("s.parquet", None), ("s.xlsx", "data")]:
        # A CSV's cells stay text until ingest reads the column by its conventions.
        assert pd.to_numeric(read_table(str(tmp_path / name), sheet_name).frame["y"]).tolist() == [1.5, 2.5, 3.5]
    with pytest.raises(ArgumentError, match=r"^sheet='nope': not found in .*; sheets: first, data$"):
        read_table(str(tmp_path / "s.xlsx"), "nope")


def test_unsupported_extension():
    with pytest.raises(UserError, match=r"unsupported file type '.txt'; use one of .xlsx, .csv, .parquet"):
        IngestParams(path="a.txt").validate()


@pytest.mark.parametrize(
    "csv, extra, message",
    [
        (None, {}, r"ingest.path='series.csv': file not found"),
        ("y\n1\nabc\n", {}, r"column 'y' row 3: 'abc' is not a number"),
        ("y\n1\n\n3\n", {}, r"column 'y' has 1 empty cells \(rows 3\)"),  # a blank line is an empty cell
        ("y\n1\n\n3\n", {"missing": "drop"}, None),
        ("y\n1\n", {}, r"only 1 rows left"),
        ("y\n1\n2\n", {"colum": "y"}, r"unknown param 'ingest.colum'; did you mean 'ingest.column'\?"),
        ("a,b\n1,2\n3,4\n", {"column": "c"}, r"ingest.column='c': not found; columns: a, b"),
        ("a,b\n1,2\n3,\n5,6\n", {"column": "b"}, r"column 'b' has 1 empty cells \(rows 3\)"),
    ],
)
def test_main_reports_one_line_and_writes_nothing(in_tmp, capsys, csv, extra, message):
    if csv is not None:
        (in_tmp / "series.csv").write_text(csv)
    write_params(in_tmp / "params.yaml", {"ingest": {"path": "series.csv", **extra}})
    code = main(["--out", "out/series.parquet", "--info", "out/series.json"])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0
        assert pd.read_parquet(in_tmp / "out" / "series.parquet")["value"].tolist() == [1.0, 3.0]
        return
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err
    assert re.search(message, lines[0]), lines[0]
    assert not (in_tmp / "out" / "series.parquet").exists()
    assert not list(in_tmp.glob("out/*"))


# --- the failure table: every bad input file through main(), each one line, exit 2, nothing written ---


def workbook(path, rows, title="data"):
    book = openpyxl.Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def corrupt_part(path, part="sheet1.xml"):
    """A valid zip one of whose XML parts is cut in half."""
    good = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, data[: len(data) // 2] if item.filename.endswith(part) else data)


# name -> (input file, extra ingest params, the exact error line)
BAD_INPUTS = {
    "missing": ("nope.csv", {}, "error: ingest.path='nope.csv': file not found"),
    "empty csv": ("empty.csv", {}, "error: ingest.path='empty.csv': the file is empty (0 bytes)"),
    "empty xlsx": ("empty.xlsx", {}, "error: ingest.path='empty.xlsx': the file is empty (0 bytes)"),
    "empty parquet": ("empty.parquet", {}, "error: ingest.path='empty.parquet': the file is empty (0 bytes)"),
    "not a workbook": ("text.xlsx", {}, "error: ingest.path='text.xlsx': not a readable .xlsx workbook "
                       "(BadZipFile: File is not a zip file)"),
    "password-protected": ("locked.xlsx", {},
                           "error: ingest.path='locked.xlsx': a password-protected workbook or an old .xls file, "
                           "not an .xlsx; save it from Excel as an unprotected .xlsx workbook"),
    "truncated": ("truncated.xlsx", {}, "error: ingest.path='truncated.xlsx': not a readable .xlsx workbook "
                  "(BadZipFile: File is not a zip file)"),
    "corrupted workbook part": ("badbook.xlsx", {}, re.compile(
        r"error: ingest.path='badbook.xlsx': not a readable .xlsx workbook \(ParseError: .+\)")),
    "corrupted sheet": ("badxml.xlsx", {}, re.compile(
        r"error: ingest.path='badxml.xlsx': sheet 'data' is corrupted \(ParseError: .+\)")),
    "sheet absent": ("good.xlsx", {"sheet": "daily"},
                     "error: ingest.sheet='daily': not found in 'good.xlsx'; sheets: data"),
    "column absent": ("good.xlsx", {"column": "z"}, "error: ingest.column='z': not found; columns: y"),
    "several numeric": ("two.xlsx", {}, "error: ingest.column=None: several numeric columns (a, b); name one of them"),
    "boolean": ("bool.xlsx", {}, "error: column 'y' row 3: True is a boolean, not a number"),
    "date": ("date.xlsx", {},
             "error: column 'y' row 3: datetime.datetime(2020, 1, 1, 0, 0) is a date or time, not a number"),
    "ambiguous text": ("ambiguous.csv", {}, "error: ingest.decimal=None: column 'y' row 2: '1,234' is ambiguous, 1234 "
                       "(comma for thousands) or 1.234 (comma for decimals); write it as 1234 or as 1.234, or name "
                       "the decimal mark, '.' or ','"),
    "mixed conventions": ("mixed.csv", {}, "error: column 'y' mixes separator conventions: row 2 uses a comma "
                          "for thousands, row 3 a comma for decimals; write the numbers one way"),
    "words": ("words.csv", {}, "error: column 'y' row 3: 'abc' is not a number; 2 cells of the column are not numbers"),
    "infinity": ("inf.csv", {}, "error: column 'y' row 3: infinite value"),
    "no rows": ("header.csv", {}, "error: ingest.path='header.csv': only 0 rows left after ingest.start/stop "
                "and missing values; need at least 2"),
}


def make_bad_files(folder):
    (folder / "empty.csv").write_bytes(b"")
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "empty.parquet").write_bytes(b"")
    (folder / "text.xlsx").write_text("a CSV saved under the wrong name\n1\n2\n")
    (folder / "locked.xlsx").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(1024))
    good = workbook(folder / "good.xlsx", [["y"], [1.0], [2.0], [3.0]]).read_bytes()
    (folder / "truncated.xlsx").write_bytes(good[: len(good) // 2])
    corrupt_part(workbook(folder / "badxml.xlsx", [["y"], [1.0], [2.0], [3.0]]))
    corrupt_part(workbook(folder / "badbook.xlsx", [["y"], [1.0], [2.0], [3.0]]), "xl/workbook.xml")
    workbook(folder / "bool.xlsx", [["y"], [1.0], [True], [3.0]])
    workbook(folder / "date.xlsx", [["y"], [1.0], [datetime.datetime(2020, 1, 1)], [3.0]])
    workbook(folder / "two.xlsx", [["a", "b"], [1.0, 2.0], [3.0, 4.0]])
    (folder / "ambiguous.csv").write_text('y\n"1,234"\n2\n3\n')
    (folder / "mixed.csv").write_text('y\n"1,234.5"\n"2.345,5"\n3\n')
    (folder / "words.csv").write_text("y\n1\nabc\n3\nmissing\n")
    (folder / "inf.csv").write_text("y\n1\n-inf\n3\n")
    (folder / "header.csv").write_text("y\n")


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_files_give_one_line_and_write_nothing(in_tmp, capsys, name):
    make_bad_files(in_tmp)
    path, extra, expected = BAD_INPUTS[name]
    write_params(in_tmp / "params.yaml", {"ingest": {"path": path, **extra}})
    assert main(["--out", "out/series.parquet", "--info", "out/series.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    line = err.rstrip("\n")
    assert expected.fullmatch(line) if isinstance(expected, re.Pattern) else line == expected, line
    assert not (in_tmp / "out").exists()


def test_numbers_stored_as_text_are_read_when_unambiguous(in_tmp):
    (in_tmp / "s.csv").write_text('y\n" 12 "\n"1,234.5"\n"1,234"\n"-2,000,000"\n3\n')
    out = series_of(read_table(str(in_tmp / "s.csv"), None), IngestParams(path="s.csv"))
    # The cell 1,234 alone would be ambiguous; the column's 1,234.5 settles the comma as a thousands separator.
    assert out["value"].tolist() == [12.0, 1234.5, 1234.0, -2000000.0, 3.0]
    (in_tmp / "eu.csv").write_text('y\n"1.234,5"\n"0,25"\n"1.234"\n')
    eu = series_of(read_table(str(in_tmp / "eu.csv"), None), IngestParams(path="eu.csv"))
    assert eu["value"].tolist() == [1234.5, 0.25, 1234.0]  # where commas mark decimals, 1.234 is a thousand
    (in_tmp / "plain.csv").write_text('y\n"1.234"\n" 7 "\n')
    plain = series_of(read_table(str(in_tmp / "plain.csv"), None), IngestParams(path="plain.csv"))
    assert plain["value"].tolist() == [1.234, 7.0]  # elsewhere a dot is a decimal point


def test_runs_of_empty_cells_under_each_missing_policy(in_tmp):
    (in_tmp / "s.csv").write_text("y\n\n\n3\n4\n\n\n\n8\n\n")
    frame = read_table(str(in_tmp / "s.csv"), None)
    with pytest.raises(UserError, match=r"^ingest.missing='error': column 'y' has 3 empty cells "
                                        r"\(rows 6, 7, 8\); "):  # rows 2, 3 and 10 are before and after the series
        series_of(frame, IngestParams(path="s.csv"))
    filled = series_of(frame, IngestParams(path="s.csv", missing="interpolate"))["value"].tolist()
    assert filled == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert series_of(frame, IngestParams(path="s.csv", missing="drop"))["value"].tolist() == [3.0, 4.0, 8.0]
    (in_tmp / "none.csv").write_text("y\n\n\n\n")
    with pytest.raises(UserError, match=r"^column 'y' has no values$"):
        series_of(read_table(str(in_tmp / "none.csv"), None), IngestParams(path="none.csv", missing="interpolate"))


def test_decimal_cells_from_parquet_are_numbers(in_tmp):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    cells = [decimal.Decimal("1.25"), None, decimal.Decimal("-3.50")]
    pq.write_table(pa.table({"y": pa.array(cells, type=pa.decimal128(6, 2))}), in_tmp / "d.parquet")
    out = series_of(read_table(str(in_tmp / "d.parquet"), None), IngestParams(path="d.parquet", missing="interpolate"))
    assert out["value"].tolist() == [1.25, -1.125, -3.5]


def test_the_stage_needs_a_path_which_a_frame_does_not(in_tmp, capsys):
    write_params(in_tmp / "params.yaml", {"ingest": {"column": "level"}})
    assert main(["--params", "params.yaml", "--out", "data/series.parquet", "--info", "data/series.json"]) == 2
    assert capsys.readouterr().err == ("error: missing param 'ingest.path': the file that holds the series (.xlsx, "
                                       ".csv or .parquet)\n")
    assert IngestParams(column="level").path is None  # the Forecaster's ingest section: how rows are read
