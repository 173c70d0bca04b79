"""Reading a table as people export them: .xlsx workbooks (formulas and all), CSV files in any common
dialect (separator, decimal comma), Parquet files."""
from __future__ import annotations

import contextlib
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lstm_forecast.data.calendar import holds_dates
from lstm_forecast.data.cells import text_readings
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.data.files import parquet_frame

FORMATS = (".xlsx", ".csv", ".parquet")
SEPARATORS = (",", ";", "\t", "|")
# Bytes of a CSV file read to detect its separator.
SNIFF_BYTES = 64 * 1024
# Rows below the header searched for the column names when the header is a title.
HEADER_SEARCH = 10


@dataclass
class Table:
    """A file's table, with what reading it found out: the header's row number (the first data row is the
    next one), the CSV separator used, and per column any formulas that have no stored value
    ({column: (count, first row number, first formula)})."""

    frame: pd.DataFrame
    header_row: int = 1
    sep: str | None = None
    formulas: dict[str, tuple[int, int, str]] = field(default_factory=dict)


def read_table(path: str, sheet: str | None, header_row: int = 1, sep: str | None = None) -> Table:
    """Read the whole table at ``path`` by its extension; for a workbook, ``sheet`` (default: the first).
    ``header_row`` is the 1-based row (line) of the headers; ``sep`` the CSV separator (None: detected).
    A CSV's cells are all text: numbers are read later, by the column's conventions."""
    p = Path(path)
    if not p.is_file():
        raise ArgumentError("path", path, "file not found")
    if p.stat().st_size == 0:
        raise ArgumentError("path", path, "the file is empty (0 bytes)")
    suffix = p.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _read_workbook(p, sheet, header_row)
        if suffix == ".csv":
            return _read_csv(p, header_row, sep)
        return Table(parquet_frame(p))
    except ArgumentError:
        raise  # already says what is wrong with the file; a ValueError, so caught before the next line
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as err:
        raise ArgumentError("path", path, f"cannot read as {suffix[1:]} ({str(err).splitlines()[0]})") from None


# An OLE2 compound file: what Excel writes for a password-protected workbook, and for the old .xls format.
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# What openpyxl raises on a damaged workbook. SyntaxError: the XML parse errors of both xml.etree and lxml
# derive from it.
DAMAGED_WORKBOOK = (zipfile.BadZipFile, KeyError, EOFError, OSError, SyntaxError, ValueError)


def _sample_lines(path: Path, header_row: int) -> list[str]:
    """The first lines of a CSV file from its header on (the last one left out if the sample cut it)."""
    with path.open("r", encoding="utf-8", errors="replace", newline="") as f:
        sample = f.read(SNIFF_BYTES)
    lines = sample.splitlines()[header_row - 1 :]
    if len(sample) == SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]
    return lines[:200]


def detect_separator(lines: list[str]) -> str:
    """The CSV separator: the one of SEPARATORS that splits the lines into the same number of fields; a
    comma where none does (a one-column file)."""
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        return ","


def check_header(lines: list[str], sep: str, header_row: int) -> None:
    """A data line with more fields than the header means the header is not where ``header_row`` says
    (a title above it); pandas would silently make index columns of the extra fields."""
    rows = list(csv.reader(lines, delimiter=sep))
    if not rows:
        return
    wider = [(i, len(r)) for i, r in enumerate(rows[1:], start=1) if len(r) > len(rows[0])]
    if wider:
        i, fields = wider[0]
        widest = max(len(r) for r in rows[1:])
        names = header_row + next(j for j, r in enumerate(rows) if len(r) == widest)
        raise ArgumentError("header_row", header_row, f"line {header_row + i} has {fields} fields ({sep!r} "
                            f"separated) but the header line {header_row} has {len(rows[0])}; a title above the "
                            f"column names on line {names}? set it to {names}")


def _is_label(cell: object) -> bool:
    """Text that is neither a number nor a date: a column name, a title."""
    return isinstance(cell, str) and bool(cell.strip()) and not text_readings(cell) and not holds_dates(
        pd.Series([cell], dtype=object))


def header_below(table: Table) -> int | None:
    """The row that seems to hold the column names when the header row does not: the last row of labels
    before the first row with a number or a date in it, among the first HEADER_SEARCH rows below the header
    (a title above the column names pushes them down). None where the first row below the header has data."""
    found = None
    for i, cells in enumerate(table.frame.head(HEADER_SEARCH).itertuples(index=False)):
        filled = [c for c in cells if not (c is None or pd.isna(c) or (isinstance(c, str) and not c.strip()))]
        if not filled:
            continue
        if not all(_is_label(c) for c in filled):
            return found
        found = table.header_row + 1 + i
    return None


@contextlib.contextmanager
def header_hint(table: Table) -> Iterator[None]:
    """A column not found, or a cell that is not a number or a date, where the column names seem to be below
    the header row: the error is the header row's, naming the row that seems to hold them."""
    try:
        yield
    except (ArgumentError, UserError):
        row = header_below(table)
        if row is None:
            raise
        unit = "line" if table.sep else "row"
        names = [repr(str(c).strip()) for c in table.frame.iloc[row - table.header_row - 1] if _is_label(c)]
        raise ArgumentError("header_row", table.header_row, f"the column names seem to be on {unit} {row} "
                            f"({', '.join(names)}), with a title above them; set it to {row}") from None


def _read_csv(path: Path, header_row: int, sep: str | None) -> Table:
    lines = _sample_lines(path, header_row)
    sep = sep or detect_separator(lines)
    check_header(lines, sep, header_row)
    # Every cell as text: numbers are read by lstm_forecast.data.cells, which knows the decimal conventions and
    # names a value that reads two ways (pandas would read 1.234 as a decimal and 3,5 as text in one column).
    # A blank line is an empty cell, and keeping it keeps row numbers in messages true.
    frame = pd.read_csv(path, sep=sep, skiprows=header_row - 1, skip_blank_lines=False, index_col=False, dtype=str)
    return Table(frame, header_row, sep)


def _read_workbook(path: Path, sheet: str | None, header_row: int) -> Table:
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
    if len(rows) < header_row:
        raise UserError(f"'{path}' sheet {sheet!r} has {len(rows)} rows, none at the header row {header_row}")
    header, body = rows[header_row - 1], rows[header_row:]
    columns = [str(h) if h is not None else f"column {i + 1}" for i, h in enumerate(header)]
    frame = pd.DataFrame(body, columns=columns)
    formulas = _formulas_without_values(path, sheet, header_row, frame) if frame.isna().to_numpy().any() else {}
    return Table(frame, header_row, formulas=formulas)


def _formulas_without_values(path: Path, sheet: str, header_row: int,
                             frame: pd.DataFrame) -> dict[str, tuple[int, int, str]]:
    """Cells that read as empty because they hold a formula whose value was never stored (a workbook written
    by a program that does not compute formulas): {column: (count, first row number, first formula)}."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        found: dict[str, tuple[int, int, str]] = {}
        for r, row in enumerate(book[sheet].iter_rows(min_row=header_row + 1, values_only=True)):
            for c, cell in enumerate(row[: len(frame.columns)]):
                if isinstance(cell, str) and cell.startswith("=") and pd.isna(frame.iat[r, c]):
                    name = frame.columns[c]
                    count, first, formula = found.get(name, (0, header_row + 1 + r, cell))
                    found[name] = (count + 1, first, formula)
        return found
    finally:
        book.close()
