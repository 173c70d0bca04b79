import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from pipeline.errors import UserError
from pipeline.ingest import IngestParams, ingest, main, read_table
from tests.conftest import ROOT, write_params


def params(**kw) -> IngestParams:
    return IngestParams(**{"path": "x.csv", **kw})


def test_shipped_workbook_is_the_sunspot_series():
    frame = read_table(str(ROOT / "data" / "sunspots.xlsx"), "sunspots")
    series = ingest(frame, IngestParams(path="data/sunspots.xlsx", sheet="sunspots"))
    assert len(series) == 2820
    assert series["value"].iloc[:3].tolist() == [58.0, 62.6, 70.0]
    assert series["value"].iloc[-1] == 33.4
    assert str(series["time"].iloc[0].date()) == "1749-01-01"
    assert str(series["time"].iloc[-1].date()) == "1983-12-01"


def test_auto_detects_time_and_single_numeric_column():
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=3), "y": [1, 2, 3]})
    out = ingest(frame, params())
    assert list(out.columns) == ["time", "value"]
    assert out["value"].tolist() == [1.0, 2.0, 3.0]


def test_start_stop_slice_rows():
    frame = pd.DataFrame({"y": np.arange(10.0)})
    assert ingest(frame, params(start=2, stop=5))["value"].tolist() == [2.0, 3.0, 4.0]


def test_several_numeric_columns_need_a_choice():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    with pytest.raises(UserError, match=r"several numeric columns \(a, b\); set ingest.column"):
        ingest(frame, params())
    assert ingest(frame, params(column="b"))["value"].tolist() == [3.0, 4.0]


def test_missing_column_lists_columns():
    with pytest.raises(UserError, match=r"ingest.column='z' not found; columns: a, b"):
        ingest(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), params(column="z"))


def test_non_numeric_cell_names_its_row():
    frame = pd.DataFrame({"y": [1.0, 2.0, "oops", 4.0]}, dtype=object)
    # Header is row 1, so the third data value sits in row 4.
    with pytest.raises(UserError, match=r"column 'y' row 4: 'oops' is not a number"):
        ingest(frame, params())


def test_gaps_are_an_error_by_default():
    frame = pd.DataFrame({"y": [1.0, np.nan, 3.0, np.nan]})
    with pytest.raises(UserError, match=r"2 empty cells \(rows 3, 5\); set ingest.missing"):
        ingest(frame, params())


def test_gaps_interpolate_and_drop():
    frame = pd.DataFrame({"y": [np.nan, 1.0, np.nan, 3.0, np.nan]})
    assert ingest(frame, params(missing="interpolate"))["value"].tolist() == [1.0, 1.0, 2.0, 3.0, 3.0]
    assert ingest(frame, params(missing="drop"))["value"].tolist() == [1.0, 3.0]


def test_drop_keeps_time_aligned():
    frame = pd.DataFrame({"date": ["2020-01", "2020-02", "2020-03"], "y": [1.0, np.nan, 3.0]})
    out = ingest(frame, params(missing="drop"))
    assert [str(t.date()) for t in out["time"]] == ["2020-01-01", "2020-03-01"]


def test_infinity_is_rejected():
    with pytest.raises(UserError, match=r"row 3: infinite value"):
        ingest(pd.DataFrame({"y": [1.0, np.inf]}), params())


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
        assert read_table(str(tmp_path / name), sheet_name)["y"].tolist() == [1.5, 2.5, 3.5]
    with pytest.raises(UserError, match=r"ingest.sheet='nope' not found in .*; sheets: first, data"):
        read_table(str(tmp_path / "s.xlsx"), "nope")


def test_not_a_workbook(tmp_path):
    (tmp_path / "fake.xlsx").write_text("just text")
    with pytest.raises(UserError, match=r"not a readable .xlsx workbook"):
        read_table(str(tmp_path / "fake.xlsx"), None)


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
        ("a,b\n1,2\n3,4\n", {"column": "c"}, r"ingest.column='c' not found; columns: a, b"),
        ("a,b\n1,\n3,4\n", {"column": "b"}, r"column 'b' has 1 empty cells \(rows 2\)"),
    ],
)
def test_main_reports_one_line_and_writes_nothing(in_tmp, capsys, csv, extra, message):
    if csv is not None:
        (in_tmp / "series.csv").write_text(csv)
    write_params(in_tmp / "params.yaml", {"ingest": {"path": "series.csv", **extra}})
    code = main(["--out", "out/series.parquet"])
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


def test_main_wrong_sheet_lists_the_sheets(in_tmp, capsys):
    book = openpyxl.Workbook()
    book.active.title = "monthly"
    book.active.append(["y"])
    book.active.append([1.0])
    book.save(in_tmp / "book.xlsx")
    write_params(in_tmp / "params.yaml", {"ingest": {"path": "book.xlsx", "sheet": "daily"}})
    assert main(["--out", "series.parquet"]) == 2
    assert capsys.readouterr().err.strip() == "error: ingest.sheet='daily' not found in 'book.xlsx'; sheets: monthly"
    assert not (in_tmp / "series.parquet").exists()
