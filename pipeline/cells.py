"""Read one column of spreadsheet or CSV cells as floats. Numbers stored as text are read when only one
reading exists; every other cell that is not a number is an error naming its row."""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

from pipeline.errors import UserError

# Text that is a plain number, as Python and every CSV reader write it: a dot is the decimal point.
_PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Grouped with thousands separators. The comma convention: 1,234.5 or 1,234,567.
_COMMA_GROUPS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
# The dot convention: 1.234,5 or 1.234.567 (one dot group alone, 1.234, is read as a plain decimal).
_DOT_GROUPS = re.compile(r"[+-]?\d{1,3}((\.\d{3})+,\d+|(\.\d{3}){2,})")
# A lone decimal comma: 1,5 or 12,25 (not three digits after it, which would also read as thousands).
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")

COMMA_THOUSANDS = "comma for thousands"
COMMA_DECIMAL = "comma for decimals"


def text_readings(text: str) -> dict[str, float]:
    """Every way ``text`` reads as a number: {convention: value}. The convention is "" for plain numbers."""
    s = text.strip()
    if _PLAIN.fullmatch(s):
        return {"": float(s)}
    readings = {}
    if _COMMA_GROUPS.fullmatch(s):
        readings[COMMA_THOUSANDS] = float(s.replace(",", ""))
    if _DOT_GROUPS.fullmatch(s):
        readings[COMMA_DECIMAL] = float(s.replace(".", "").replace(",", "."))
    elif _DECIMAL_COMMA.fullmatch(s):
        readings[COMMA_DECIMAL] = float(s.replace(",", "."))
    if s.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        readings[""] = float(s)
    return readings


def _describe(cell: object) -> str:
    if isinstance(cell, (bool, np.bool_)):
        return f"{cell!r} is a boolean, not a number"
    if isinstance(cell, (dt.date, dt.datetime, dt.time, pd.Timestamp, np.datetime64)):
        return f"{cell!r} is a date or time, not a number"
    return f"{cell!r} is not a number"


def to_numbers(raw: pd.Series, name: str, row_offset: int) -> np.ndarray:
    """Convert a column to float64 (empty cells become NaN). ``row_offset`` is the row number of the
    column's first cell, so that errors name the row a spreadsheet shows."""
    values = np.full(len(raw), np.nan)
    text_cells: dict[int, tuple[str, dict[str, float]]] = {}
    for i, cell in enumerate(raw.to_numpy(dtype=object)):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NA or cell is pd.NaT:
            continue
        if isinstance(cell, (bool, np.bool_)) or not isinstance(cell, (int, float, np.integer, np.floating, str)):
            raise UserError(f"column {name!r} row {i + row_offset}: {_describe(cell)}")
        if isinstance(cell, str):
            if not cell.strip():
                continue  # a blank cell is an empty cell
            readings = text_readings(cell)
            if not readings:
                bad = sum(isinstance(c, str) and c.strip() and not text_readings(c) for c in raw.to_numpy(dtype=object))
                raise UserError(f"column {name!r} row {i + row_offset}: {cell!r} is not a number ({bad} such cells)")
            text_cells[i] = (cell, readings)
        else:
            values[i] = float(cell)
    _read_text_cells(values, text_cells, name, row_offset)
    if np.isinf(values).any():
        i = int(np.flatnonzero(np.isinf(values))[0])
        raise UserError(f"column {name!r} row {i + row_offset}: infinite value")
    return values


def _read_text_cells(values: np.ndarray, cells: dict[int, tuple[str, dict[str, float]]], name: str,
                     row_offset: int) -> None:
    """Fill in numbers stored as text. A cell such as 1,234 reads two ways; the column's other cells decide
    which separator convention it uses, and if they do not (or disagree), that is the user's call."""
    settled = {i: next(iter(r)) for i, (_, r) in cells.items() if len(r) == 1}
    conventions = {c for c in settled.values() if c}
    if len(conventions) > 1:
        first = {c: min(i for i, s in settled.items() if s == c) for c in conventions}
        (a, row_a), (b, row_b) = sorted(first.items(), key=lambda item: item[1])
        raise UserError(
            f"column {name!r} mixes separator conventions: row {row_a + row_offset} uses a {a}, "
            f"row {row_b + row_offset} a {b}; write the numbers one way"
        )
    for i, (text, readings) in cells.items():
        if len(readings) == 1:
            values[i] = next(iter(readings.values()))
        elif conventions:
            values[i] = readings[next(iter(conventions))]
        else:
            options = " or ".join(f"{v:g} ({c})" for c, v in readings.items())
            raise UserError(
                f"column {name!r} row {i + row_offset}: {text!r} is ambiguous, {options}; write it as "
                + " or as ".join(f"{v:g}" for v in readings.values())
            )

