"""Files as users export them, through the real `dvc repro`: the exact one-line error, DVC's exit code, a clean
`git status` and the previous outputs kept; or, after the documented fix-up, the very same series."""
import json
import re

import numpy as np
import pandas as pd
import pytest

from tests.helpers import STAGES, commit, git_status, output_hashes, set_param, sh, sine_series


def write_series(repo, frame: pd.DataFrame, **csv) -> None:
    frame.to_csv(repo / "series.csv", index=False, **csv)


def failed_repro(repo, env, extra_changed: set[str] = frozenset()) -> str:
    """Run `dvc repro`, which must fail; the stage's own error line. Only the files the test itself changed
    (series.csv, params.yaml and ``extra_changed``) may show in `git status` afterwards."""
    before = output_hashes(repo)
    proc = sh(repo, env, "dvc", "repro", "--no-run-cache", check=False)
    output = proc.stdout + proc.stderr
    # DVC exits 255 when a stage fails; the stage's own exit code, 2 for a user's mistake, is in its message.
    assert proc.returncode == 255 and "exited with 2" in output, output
    lines = [line for line in output.splitlines() if line.startswith("error: ")]
    assert output_hashes(repo) == before  # the last good results, byte for byte
    # Only what the user edited shows in git: no committed output deleted or changed, dvc.lock untouched.
    assert {line[3:] for line in git_status(repo, env).splitlines()} <= {"series.csv", "params.yaml", *extra_changed}
    assert "changed" in sh(repo, env, "dvc", "status").stdout  # the stage still has to run
    return lines[0]


def ran(repo, env, *extra) -> list[str]:
    out = sh(repo, env, "dvc", "repro", "--no-run-cache", *extra).stdout
    return [line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")]


def test_a_european_csv_gives_the_same_series(repo, dvc_env):
    before = output_hashes(repo)
    frame = sine_series()
    frame["level"] = frame["level"].map(lambda v: f"{v:.3f}".replace(".", ","))
    write_series(repo, frame, sep=";")
    assert ran(repo, dvc_env) == ["ingest"]  # the same series, so nothing downstream reruns
    assert output_hashes(repo) == before


@pytest.mark.parametrize("fix, how", [
    ({"ingest.sort": True}, lambda f: f.iloc[np.random.default_rng(0).permutation(len(f))]),
    ({"ingest.sort": True}, lambda f: f.iloc[::-1]),
])
def test_rows_out_of_order_fail_until_sorted(repo, dvc_env, fix, how):
    before = output_hashes(repo)
    write_series(repo, how(sine_series()))
    line = failed_repro(repo, dvc_env)
    assert line.startswith("error: ingest.sort=False: rows are not in time order: row ")
    assert line.endswith("; true sorts them by time")
    for key, value in fix.items():
        set_param(repo, key, value)
    assert ran(repo, dvc_env) == ["ingest"]
    assert output_hashes(repo) == before


def test_duplicated_and_absent_months_are_named(repo, dvc_env):
    frame = sine_series()
    write_series(repo, pd.concat([frame.iloc[:10], frame.iloc[9:]]))
    assert failed_repro(repo, dvc_env) == ("error: time column 'date' repeats 1 time stamps: 2000-10-01 00:00:00 "
                                           "(rows 11, 12); keep one row per time stamp")
    write_series(repo, frame.drop(index=[30]))
    assert failed_repro(repo, dvc_env) == (
        "error: ingest.freq='auto': 1 periods of the calendar (MS) have no row: 2002-07-01 00:00:00; missing "
        "'interpolate' fills them in, missing 'drop' leaves them out, freq 'none' treats the rows as consecutive steps")
    set_param(repo, "ingest.missing", "interpolate")
    assert ran(repo, dvc_env) == list(STAGES)
    assert pd.read_parquet(repo / "data" / "series.parquet")["time"].is_monotonic_increasing


def title_csv(repo, title: str) -> str:
    (repo / "series.csv").write_text(title + "\n" + (repo / "series.csv").read_text())
    return "series.csv"


def title_book(repo, title: str) -> str:
    import openpyxl

    book = openpyxl.Workbook()
    for row in [[title], [], ["date", "level"]] + [[d.to_pydatetime(), v] for d, v in sine_series().values]:
        book.active.append(row)
    book.save(repo / "book.xlsx")
    set_param(repo, "ingest.path", "book.xlsx")
    return "book.xlsx"


@pytest.mark.parametrize("write, title, header_row, line", [
    (title_csv, "Exported from the sales system", 2, "line 2 has 2 fields (',' separated) but the header line 1 has "
     "1; a title above the column names on line 2? set it to 2"),
    (title_csv, "Monthly sales, all stores", 2, "the column names seem to be on line 2 ('date', 'level'), with a "
     "title above them; set it to 2"),
    (title_book, "Monthly sales, all stores", 3, "the column names seem to be on row 3 ('date', 'level'), with a "
     "title above them; set it to 3"),
])
def test_a_title_line_fails_until_header_row_names_the_header(repo, dvc_env, write, title, header_row, line):
    before = output_hashes(repo)
    path = write(repo, title)
    assert failed_repro(repo, dvc_env, extra_changed={path}) == f"error: ingest.header_row=1: {line}"
    set_param(repo, "ingest.header_row", header_row)
    assert ran(repo, dvc_env) == ["ingest"]
    assert output_hashes(repo) == before
    changed = {"series.csv": ["M", "series.csv"], "book.xlsx": ["??", "book.xlsx"]}[path]
    assert git_status(repo, dvc_env).split() == ["M", "dvc.lock", "M", "params.yaml", *changed]
    commit(repo, dvc_env, "title line")
    assert git_status(repo, dvc_env) == ""


def test_months_to_come_with_empty_values_are_left_out_under_every_missing_policy(repo, dvc_env):
    # A sheet prepared for the coming months: six rows with a date and no value after the last value.
    before = output_hashes(repo)
    future = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=6, freq="MS"), "level": np.nan})
    write_series(repo, pd.concat([sine_series(), future]))
    assert (repo / "series.csv").read_text().endswith("2020-06-01,\n")
    for missing in ("error", "interpolate"):
        set_param(repo, "ingest.missing", missing)
        proc = sh(repo, dvc_env, "dvc", "repro", "--no-run-cache")
        assert re.findall(r"Running stage '(\w+)'", proc.stdout) == ["ingest"]  # the same series: nothing else reruns
        assert "left out 6 empty rows after the last value (2020-01-01 to 2020-06-01)" in proc.stdout + proc.stderr
        assert output_hashes(repo) == before  # the forecast starts after 2019-12, the last value


def test_a_time_column_is_found_by_its_content(repo, dvc_env):
    # Quarters written as periods, and a European file: once "no numeric column found".
    quarters = [f"{1960 + i // 4} Q{i % 4 + 1}" for i in range(240)]
    write_series(repo, pd.DataFrame({"quarter": quarters, "revenue": sine_series()["level"]}))
    set_param(repo, "evaluate.season", "auto")
    set_param(repo, "window.time_step", "auto")  # which logs the season it goes by
    proc = sh(repo, dvc_env, "dvc", "repro", "--no-run-cache", "window")
    assert re.findall(r"Running stage '(\w+)'", proc.stdout) == ["ingest", "normalize", "window"]
    assert "season auto: 4 for frequency QS-OCT (a year of QS-OCT steps)" in proc.stdout + proc.stderr
    info = json.loads((repo / "data" / "series.json").read_text())
    assert (info["time_column"], info["freq"], info["rows"]) == ("quarter", "QS-OCT", 240)
    series = (repo / "data" / "series.parquet").read_bytes()
    set_param(repo, "ingest.column", "revenue")  # naming the value column keeps the dates
    assert ran(repo, dvc_env, "ingest") == ["ingest"]
    assert (repo / "data" / "series.parquet").read_bytes() == series
    set_param(repo, "ingest.column", None)
    frame = sine_series()
    frame = pd.DataFrame({"Datum": (frame["date"] + pd.offsets.MonthEnd(0)).dt.strftime("%d.%m.%Y"),
                          "Umsatz": frame["level"].map(lambda v: f"{v:.3f}".replace(".", ","))})
    write_series(repo, frame, sep=";")
    assert ran(repo, dvc_env, "ingest") == ["ingest"]
    info = json.loads((repo / "data" / "series.json").read_text())
    assert (info["time_column"], info["freq"], info["rows"]) == ("Datum", "ME", 240)
    assert pd.read_parquet(repo / "data" / "series.parquet")["value"].tolist() == sine_series()["level"].tolist()


def test_a_window_too_long_names_the_splits_in_time_order(repo, dvc_env):
    set_param(repo, "window.time_step", 150)
    assert failed_repro(repo, dvc_env) == (
        "error: window.time_step=150: leaves no whole window in the train split (series length 240; split sizes "
        "train 144, val 48, test 48); a training window needs time_step + horizon = 151 values and every split at "
        "least horizon = 1; lower window.time_step or window.horizon, or give the series more rows")


def test_a_formula_column_is_never_passed_over_in_silence(repo, dvc_env):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["date", "base", "sales"])
    for i, row in sine_series().iterrows():
        sheet.append([row["date"].to_pydatetime(), float(row["level"]), f"=B{i + 2}*2"])  # no stored values
    book.save(repo / "book.xlsx")
    set_param(repo, "ingest.path", "book.xlsx")
    set_param(repo, "ingest.sheet", None)
    set_param(repo, "ingest.column", None)
    line = failed_repro(repo, dvc_env, extra_changed={"book.xlsx"})
    assert line == "error: ingest.column=None: several numeric columns (base, sales); name one of them"
    set_param(repo, "ingest.column", "sales")
    assert failed_repro(repo, dvc_env, extra_changed={"book.xlsx"}) == (
        "error: column 'sales' row 2: the formula =B2*2 has no stored value (240 such cells); open the workbook in "
        "a spreadsheet program and save it, so the values are stored")


def test_a_constant_test_span_scores_without_dividing_by_zero(repo, dvc_env):
    frame = sine_series()
    frame.loc[144:, "level"] = 7.0  # validation and test spans constant: persistence is perfect there
    write_series(repo, frame)
    assert {"ingest", "evaluate", "crossval"} <= set(ran(repo, dvc_env))  # and no stage failed
    results = json.loads((repo / "metrics" / "evaluate.json").read_text())
    assert "test_lstm_skill" not in results and results["test_persistence_mase"] == 0.0
    assert results["test_lstm_mase"] > 0 and 0 <= results["test_lstm_coverage"] <= 1


def test_calendar_inputs_on_a_series_without_dates_are_one_line(repo, dvc_env):
    write_series(repo, sine_series().drop(columns="date"))
    set_param(repo, "window.calendar", "auto")  # auto: none for rows without dates
    assert ran(repo, dvc_env) == list(STAGES)
    assert json.loads((repo / "data" / "windows.json").read_text())["calendar"] == []
    commit(repo, dvc_env, "a series without dates")
    set_param(repo, "window.calendar", ["month"])
    assert failed_repro(repo, dvc_env) == (
        "error: window.calendar=['month'] needs a time column of dates; data/series.json has no time column; "
        "set window.calendar: [] or ingest.time_column")
