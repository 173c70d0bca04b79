"""Reading a series from a table as people keep them: .xlsx workbooks, CSV and Parquet files."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_forecast.cells import to_numbers
from lstm_forecast.errors import ArgumentError, UserError

FORMATS = (".xlsx", ".csv", ".parquet")
TIME_NAMES = ("date", "time", "datetime", "timestamp", "month")
# A spreadsheet's first data row is row 2 (row 1 holds the headers); a CSV's is line 2.
FIRST_DATA_ROW = 2


def read_table(path: str, sheet: str | None) -> pd.DataFrame:
    """Read the whole table at ``path`` by its extension; for a workbook, ``sheet`` (default: the first)."""
    p = Path(path)
    if not p.is_file():
        raise ArgumentError("path", path, "file not found")
    if p.stat().st_size == 0:
        raise ArgumentError("path", path, "the file is empty (0 bytes)")
    suffix = p.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _read_workbook(p, sheet)
        if suffix == ".csv":
            # A blank line is an empty cell, and keeping it keeps row numbers in messages true.
            return pd.read_csv(p, skip_blank_lines=False)
        return pd.read_parquet(p, engine="pyarrow")
    except ArgumentError:
        raise  # already says what is wrong with the file; a ValueError, so caught before the next line
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as err:
        raise ArgumentError("path", path, f"cannot read as {suffix[1:]} ({str(err).splitlines()[0]})") from None


# An OLE2 compound file: what Excel writes for a password-protected workbook, and for the old .xls format.
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# What openpyxl raises on a damaged workbook. SyntaxError: the XML parse errors of both xml.etree and lxml
# derive from it.
DAMAGED_WORKBOOK = (zipfile.BadZipFile, KeyError, EOFError, OSError, SyntaxError, ValueError)


def _read_workbook(path: Path, sheet: str | None) -> pd.DataFrame:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    with path.open("rb") as f:
        if f.read(len(OLE2_MAGIC)) == OLE2_MAGIC:
            raise ArgumentError("path", str(path), "a password-protected workbook or an old .xls file, not an .xlsx; "
                                "save it from Excel as an unprotected .xlsx workbook")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, *DAMAGED_WORKBOOK) as err:
        reason = f"{type(err).__name__}: {err}"
        raise ArgumentError("path", str(path), f"not a readable .xlsx workbook ({reason})") from None
    try:
        names = book.sheetnames
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            raise ArgumentError("sheet", sheet, f"not found in '{path}'; sheets: {', '.join(names)}")
        # read_only parses each sheet's XML as its rows are read: damage inside a sheet shows up here.
        rows = list(book[sheet].iter_rows(values_only=True))
    except ArgumentError:
        raise
    except DAMAGED_WORKBOOK as err:
        raise ArgumentError("path", str(path), f"sheet {sheet!r} is corrupted ({type(err).__name__}: {err})") from None
    finally:
        book.close()
    if not rows:
        raise UserError(f"'{path}' sheet {sheet!r} is empty")
    header, body = rows[0], rows[1:]
    columns = [str(h) if h is not None else f"column {i + 1}" for i, h in enumerate(header)]
    return pd.DataFrame(body, columns=columns)


def find_time_column(frame: pd.DataFrame, time_column: str | None) -> str | None:
    """The column carried along as time stamps: ``time_column`` if given, else a date-typed or date-named one."""
    if time_column is not None:
        if time_column not in frame.columns:
            raise ArgumentError("time_column", time_column, f"not found; columns: {', '.join(map(str, frame.columns))}")
        return time_column
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            return name
    for name in frame.columns:
        if str(name).strip().lower() in TIME_NAMES:
            return name
    return None


def find_value_column(frame: pd.DataFrame, column: str | None, time_col: str | None) -> str:
    """The series column: ``column`` if given, else the single numeric column besides time."""
    names = [c for c in frame.columns if c != time_col]
    if column is not None:
        if column not in frame.columns:
            raise ArgumentError("column", column, f"not found; columns: {', '.join(map(str, frame.columns))}")
        return column
    numeric = [c for c in names if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric and len(names) == 1:
        return names[0]  # a lone column with a few bad cells: parse it and report those cells
    if not numeric:
        raise ArgumentError("column", None, f"no numeric column found; name one of: {', '.join(map(str, names))}")
    raise ArgumentError("column", None, f"several numeric columns ({', '.join(map(str, numeric))}); name one of them")


def handle_missing(values: np.ndarray, policy: str, name: str, row_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Apply the ``policy`` for empty cells: the values left and their positions (all of them unless ``drop``)."""
    gaps = np.flatnonzero(np.isnan(values))
    keep = np.arange(len(values))
    if len(gaps) == 0:
        return values, keep
    if policy == "error":
        rows = ", ".join(str(i + row_offset) for i in gaps[:5]) + (", ..." if len(gaps) > 5 else "")
        raise ArgumentError("missing", policy, f"column {name!r} has {len(gaps)} empty cells (rows {rows}); "
                            "'interpolate' or 'drop' accepts them")
    if len(gaps) == len(values):
        raise UserError(f"column {name!r} has no values")
    if policy == "interpolate":
        # Linear between neighbours; a gap at either end takes the nearest observed value.
        filled = pd.Series(values).interpolate(method="linear", limit_direction="both").to_numpy()
        return filled, keep
    kept = keep[~np.isnan(values)]
    return values[kept], kept


def select_series(frame: pd.DataFrame, *, column: str | None, time_column: str | None, start: int | None,
                  stop: int | None, missing: str) -> pd.DataFrame:
    """Select, slice and clean the series: returns columns ``time`` (when present) and ``value``."""
    time_col = find_time_column(frame, time_column)
    value_col = find_value_column(frame, column, time_col)
    start = start or 0
    sliced = frame.iloc[start:stop]
    row_offset = FIRST_DATA_ROW + start
    values = to_numbers(sliced[value_col].reset_index(drop=True), str(value_col), row_offset)
    values, keep = handle_missing(values, missing, str(value_col), row_offset)
    out = pd.DataFrame({"value": values})
    if time_col is not None:
        stamps = sliced[time_col].reset_index(drop=True).iloc[keep].reset_index(drop=True)
        out.insert(0, "time", _as_time(stamps))
    return out


def _as_time(stamps: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(stamps):
        return stamps
    try:
        return pd.to_datetime(stamps.astype(str), format="mixed")
    except (ValueError, TypeError):
        return stamps.astype(str)  # labels we cannot parse are still worth carrying for the plot
