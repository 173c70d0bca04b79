"""Ingest: read the raw series from .xlsx / .csv / .parquet; write one tidy Parquet file (time, value)."""
from __future__ import annotations

import argparse
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pipeline.cells import to_numbers
from pipeline.errors import UserError, stage_main
from pipeline.files import check_outputs, write_parquet
from pipeline.params import load_section, require

log = logging.getLogger("ingest")

FORMATS = (".xlsx", ".csv", ".parquet")
TIME_NAMES = ("date", "time", "datetime", "timestamp", "month")
# A spreadsheet's first data row is row 2 (row 1 holds the headers); a CSV's is line 2.
FIRST_DATA_ROW = 2


@dataclass(frozen=True)
class IngestParams:
    path: str
    sheet: str | None = None
    column: str | None = None
    time_column: str | None = None
    start: int | None = None
    stop: int | None = None
    missing: Literal["error", "interpolate", "drop"] = "error"

    def validate(self) -> None:
        suffix = Path(self.path).suffix.lower()
        require(suffix in FORMATS, f"ingest.path={self.path!r}: unsupported file type '{suffix}'; use one of {', '.join(FORMATS)}")
        require(self.start is None or self.start >= 0, f"ingest.start={self.start} should be >= 0")
        require(self.stop is None or self.stop >= 1, f"ingest.stop={self.stop} should be >= 1")
        if self.start is not None and self.stop is not None:
            require(self.start < self.stop, f"ingest.start={self.start} should be smaller than ingest.stop={self.stop}")


def read_table(path: str, sheet: str | None) -> pd.DataFrame:
    """Read the whole table at ``path`` by its extension; for a workbook, ``sheet`` (default: the first)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"ingest.path={path!r}: file not found")
    if p.stat().st_size == 0:
        raise UserError(f"ingest.path={path!r}: the file is empty (0 bytes)")
    suffix = p.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _read_workbook(p, sheet)
        if suffix == ".csv":
            # A blank line is an empty cell, and keeping it keeps row numbers in messages true.
            return pd.read_csv(p, skip_blank_lines=False)
        return pd.read_parquet(p, engine="pyarrow")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as err:
        raise UserError(f"ingest.path={path!r}: cannot read as {suffix[1:]} ({str(err).splitlines()[0]})") from None


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
            raise UserError(
                f"ingest.path='{path}': a password-protected workbook or an old .xls file, not an .xlsx; "
                "save it from Excel as an unprotected .xlsx workbook"
            )
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, *DAMAGED_WORKBOOK) as err:
        reason = f"{type(err).__name__}: {err}"
        raise UserError(f"ingest.path='{path}': not a readable .xlsx workbook ({reason})") from None
    try:
        names = book.sheetnames
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            raise UserError(f"ingest.sheet={sheet!r} not found in '{path}'; sheets: {', '.join(names)}")
        # read_only parses each sheet's XML as its rows are read: damage inside a sheet shows up here.
        rows = list(book[sheet].iter_rows(values_only=True))
    except DAMAGED_WORKBOOK as err:
        raise UserError(f"ingest.path='{path}': sheet {sheet!r} is corrupted ({type(err).__name__}: {err})") from None
    finally:
        book.close()
    if not rows:
        raise UserError(f"'{path}' sheet {sheet!r} is empty")
    header, body = rows[0], rows[1:]
    columns = [str(h) if h is not None else f"column {i + 1}" for i, h in enumerate(header)]
    return pd.DataFrame(body, columns=columns)


def find_time_column(frame: pd.DataFrame, time_column: str | None) -> str | None:
    """The column carried along as time stamps: the one named in params, else a date-typed or date-named one."""
    if time_column is not None:
        if time_column not in frame.columns:
            raise UserError(f"ingest.time_column={time_column!r} not found; columns: {', '.join(map(str, frame.columns))}")
        return time_column
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            return name
    for name in frame.columns:
        if str(name).strip().lower() in TIME_NAMES:
            return name
    return None


def find_value_column(frame: pd.DataFrame, column: str | None, time_col: str | None) -> str:
    """The series column: the one named in params, else the single numeric column besides time."""
    names = [c for c in frame.columns if c != time_col]
    if column is not None:
        if column not in frame.columns:
            raise UserError(f"ingest.column={column!r} not found; columns: {', '.join(map(str, frame.columns))}")
        return column
    numeric = [c for c in names if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric and len(names) == 1:
        return names[0]  # a lone column with a few bad cells: parse it and report those cells
    if not numeric:
        raise UserError(f"no numeric column found; set ingest.column to one of: {', '.join(map(str, names))}")
    raise UserError(f"several numeric columns ({', '.join(map(str, numeric))}); set ingest.column to one of them")


def handle_missing(values: np.ndarray, policy: str, name: str, row_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``ingest.missing``: the values left and their positions (all of them unless ``drop``)."""
    gaps = np.flatnonzero(np.isnan(values))
    keep = np.arange(len(values))
    if len(gaps) == 0:
        return values, keep
    if policy == "error":
        rows = ", ".join(str(i + row_offset) for i in gaps[:5]) + (", ..." if len(gaps) > 5 else "")
        raise UserError(
            f"column {name!r} has {len(gaps)} empty cells (rows {rows}); "
            "set ingest.missing to 'interpolate' or 'drop' to accept them"
        )
    if len(gaps) == len(values):
        raise UserError(f"column {name!r} has no values")
    if policy == "interpolate":
        # Linear between neighbours; a gap at either end takes the nearest observed value.
        filled = pd.Series(values).interpolate(method="linear", limit_direction="both").to_numpy()
        return filled, keep
    kept = keep[~np.isnan(values)]
    return values[kept], kept


def ingest(frame: pd.DataFrame, params: IngestParams) -> pd.DataFrame:
    """Select, slice and clean the series: returns columns ``time`` (when present) and ``value``."""
    time_col = find_time_column(frame, params.time_column)
    value_col = find_value_column(frame, params.column, time_col)
    start = params.start or 0
    sliced = frame.iloc[start : params.stop]
    row_offset = FIRST_DATA_ROW + start
    values = to_numbers(sliced[value_col].reset_index(drop=True), str(value_col), row_offset)
    values, keep = handle_missing(values, params.missing, str(value_col), row_offset)
    out = pd.DataFrame({"value": values})
    if time_col is not None:
        stamps = sliced[time_col].reset_index(drop=True).iloc[keep].reset_index(drop=True)
        out.insert(0, "time", _as_time(stamps))
    if len(out) < 2:
        raise UserError(f"ingest.path={params.path!r}: only {len(out)} rows left after ingest.start/stop and missing "
                        "values; need at least 2")
    return out


def _as_time(stamps: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(stamps):
        return stamps
    try:
        return pd.to_datetime(stamps.astype(str), format="mixed")
    except (ValueError, TypeError):
        return stamps.astype(str)  # labels we cannot parse are still worth carrying for the plot


def run(params: IngestParams, out: Path) -> None:
    frame = read_table(params.path, params.sheet)
    series = ingest(frame, params)
    write_parquet(out, series)
    log.info("read %d rows from %s; wrote %d values to %s", len(frame), params.path, len(series), out)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'ingest')")
    parser.add_argument("--out", required=True, type=Path, help="tidy series, Parquet")
    args = parser.parse_args(argv)
    check_outputs(args.out)  # a bad path fails before any work is done
    run(load_section(IngestParams, "ingest", args.params), args.out)


if __name__ == "__main__":
    raise SystemExit(main())
