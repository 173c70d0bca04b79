"""Read one column of spreadsheet or CSV cells as floats. Numbers stored as text are read when only one
reading exists; every other cell that is not a number is an error naming its row."""
from __future__ import annotations

import datetime as dt
import numbers
import re

import numpy as np
import pandas as pd

from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.config.params import NUMBER

# Grouped with thousands separators. The comma convention: 1,234.5 or 1,234,567.
_COMMA_GROUPS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
# The dot convention: 1.234,5 or 1.234.567 (one dot group alone, 1.234, is read as a plain decimal).
_DOT_GROUPS = re.compile(r"[+-]?\d{1,3}((\.\d{3})+,\d+|(\.\d{3}){2,})")
# A lone decimal comma: 1,5 or 12,25 (not three digits after it, which would also read as thousands).
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
# One dot and three digits after it: a decimal here, but a thousands group where commas mark decimals.
_ONE_DOT_GROUP = re.compile(r"[+-]?\d{1,3}\.\d{3}")

COMMA_THOUSANDS = "comma for thousands"
COMMA_DECIMAL = "comma for decimals"


def text_readings(text: str) -> dict[str, float]:
    """Every way ``text`` reads as a number: {convention: value}; "" is the plain reading (a dot decimal)."""
    s = text.strip()
    readings = {}
    if NUMBER.fullmatch(s):  # plain: a dot is the decimal point
        readings[""] = float(s)
        if _ONE_DOT_GROUP.fullmatch(s):
            readings[COMMA_DECIMAL] = float(s.replace(".", ""))  # 1.234 is 1234 where commas mark decimals
        return readings
    if _COMMA_GROUPS.fullmatch(s):
        readings[COMMA_THOUSANDS] = float(s.replace(",", ""))
    if _DOT_GROUPS.fullmatch(s):
        readings[COMMA_DECIMAL] = float(s.replace(".", "").replace(",", "."))
    elif _DECIMAL_COMMA.fullmatch(s):
        readings[COMMA_DECIMAL] = float(s.replace(",", "."))
    if s.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        readings[""] = float(s)
    return readings


def holds_numbers(raw: pd.Series) -> bool:
    """Whether every non-empty cell of ``raw`` is a number or text that reads as one, and there is one: a CSV's
    column of values, whose cells are all text."""
    if pd.api.types.is_bool_dtype(raw):
        return False
    if pd.api.types.is_numeric_dtype(raw):
        return True
    cells = [c for c in raw.dropna() if not (isinstance(c, str) and not c.strip())]
    return bool(cells) and all(not isinstance(c, (bool, np.bool_)) and (
        text_readings(c) if isinstance(c, str) else isinstance(c, numbers.Number)) for c in cells)


def _not_a_number(cell: object) -> str | None:
    """Why ``cell`` is not a number, or None if it is one, or empty."""
    if isinstance(cell, (bool, np.bool_)):
        return f"{cell!r} is a boolean, not a number"
    if isinstance(cell, (dt.date, dt.datetime, dt.time, pd.Timestamp, np.datetime64)):
        return f"{cell!r} is a date or time, not a number"
    if isinstance(cell, str):
        return None if not cell.strip() or text_readings(cell) else f"{cell!r} is not a number"
    if isinstance(cell, numbers.Number) and not isinstance(cell, complex):
        return None  # int, float, numpy scalars, Decimal (a Parquet decimal column)
    if cell is None or cell is pd.NA or cell is pd.NaT:
        return None
    return f"{cell!r} is not a number"


def to_numbers(raw: pd.Series, name: str, row_offset: int, decimal: str | None = None,
               likely: str | None = None) -> np.ndarray:
    """Convert a column to float64 (empty cells become NaN). ``row_offset`` is the row number of the
    column's first cell, so that errors name the row a spreadsheet shows. ``decimal`` ('.' or ','), when
    given, settles how numbers stored as text read; None: the column's cells settle it, and where they do
    not, the ``likely`` decimal mark does (a ';'-separated file writes decimals with a comma)."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)  # the common case: no cell to look at
    else:
        values = _cells_to_numbers(raw.to_numpy(dtype=object), name, row_offset, decimal, likely)
    if np.isinf(values).any():
        i = int(np.flatnonzero(np.isinf(values))[0])
        raise UserError(f"column {name!r} row {i + row_offset}: infinite value")
    return values


def _cells_to_numbers(cells: np.ndarray, name: str, row_offset: int, decimal: str | None,
                      likely: str | None) -> np.ndarray:
    problems = [(i, why) for i, cell in enumerate(cells) if (why := _not_a_number(cell)) is not None]
    if problems:
        i, why = problems[0]
        more = f"; {len(problems)} cells of the column are not numbers" if len(problems) > 1 else ""
        raise UserError(f"column {name!r} row {i + row_offset}: {why}{more}")
    values = np.full(len(cells), np.nan)
    text_cells: dict[int, tuple[str, dict[str, float]]] = {}
    for i, cell in enumerate(cells):
        if isinstance(cell, str):
            if cell.strip():
                text_cells[i] = (cell, text_readings(cell))
        elif cell is not None and cell is not pd.NA and cell is not pd.NaT:
            values[i] = float(cell)
    _read_text_cells(values, text_cells, name, row_offset, decimal, likely)
    return values


def _read_text_cells(values: np.ndarray, cells: dict[int, tuple[str, dict[str, float]]], name: str,
                     row_offset: int, decimal: str | None, likely: str | None) -> None:
    """Fill in numbers stored as text. A cell such as 1,234 reads two ways; the column's other cells decide
    which separator convention it uses, and if they do not (or disagree), that is the user's call. A plain
    dot decimal such as 1.234 is read as such unless the column writes its decimals with a comma."""
    if decimal is not None:
        convention = COMMA_DECIMAL if decimal == "," else COMMA_THOUSANDS
        for i, (text, readings) in cells.items():
            if convention not in readings and "" not in readings:
                raise ArgumentError("decimal", decimal, f"column {name!r} row {i + row_offset}: {text!r} does not read "
                                    "as a number with this decimal mark")
            values[i] = readings.get(convention, readings.get(""))
        return
    settled = {i: next(iter(r)) for i, (_, r) in cells.items() if len(r) == 1}
    conventions = {c for c in settled.values() if c}
    if len(conventions) > 1:
        first = {c: min(i for i, s in settled.items() if s == c) for c in conventions}
        (a, row_a), (b, row_b) = sorted(first.items(), key=lambda item: item[1])
        raise UserError(
            f"column {name!r} mixes separator conventions: row {row_a + row_offset} uses a {a}, "
            f"row {row_b + row_offset} a {b}; write the numbers one way"
        )
    convention = next(iter(conventions), {",": COMMA_DECIMAL, ".": COMMA_THOUSANDS}.get(likely))
    for i, (text, readings) in cells.items():
        if len(readings) == 1:
            values[i] = next(iter(readings.values()))
        elif convention in readings:
            values[i] = readings[convention]
        elif "" in readings:
            values[i] = readings[""]
        else:
            options = " or ".join(f"{v:g} ({c})" for c, v in readings.items())
            raise ArgumentError(
                "decimal", decimal, f"column {name!r} row {i + row_offset}: {text!r} is ambiguous, {options}; write it "
                "as " + " or as ".join(f"{v:g}" for v in readings.values()) + ", or name the decimal mark, '.' or ','"
            )
