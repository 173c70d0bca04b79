"""Ingest: read the raw series from .xlsx / .csv / .parquet; write one tidy Parquet file (time, value)."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.data.calendar import known_freq
from lstm_forecast.errors import UserError, param_errors
from lstm_forecast.data.files import check_outputs, write_json, write_parquet
from lstm_forecast.config.params import load_section, require
from lstm_forecast.data.reading import FORMATS, Table, read_table
from lstm_forecast.data.series import select_series
from pipeline.edge import stage_main

log = logging.getLogger("ingest")


@dataclass(frozen=True)
class IngestParams:
    path: str
    sheet: str | None = None
    column: str | None = None
    time_column: str | None = None
    start: int | None = None
    stop: int | None = None
    missing: Literal["error", "interpolate", "drop"] = "error"
    sort: bool = False
    freq: str = "auto"
    sep: str | None = None
    decimal: Literal[".", ","] | None = None
    header_row: int = 1

    def validate(self) -> None:
        suffix = Path(self.path).suffix.lower()
        require(suffix in FORMATS,
                f"ingest.path={self.path!r}: unsupported file type '{suffix}'; use one of {', '.join(FORMATS)}")
        require(self.start is None or self.start >= 0, f"ingest.start={self.start} should be >= 0")
        require(self.stop is None or self.stop >= 1, f"ingest.stop={self.stop} should be >= 1")
        if self.start is not None and self.stop is not None:
            require(self.start < self.stop, f"ingest.start={self.start} should be smaller than ingest.stop={self.stop}")
        require(self.header_row >= 1, f"ingest.header_row={self.header_row} should be >= 1 (the row of the headers)")
        require(self.sep is None or len(self.sep) == 1, f"ingest.sep={self.sep!r} should be one character, such as "
                "',' ';' or a tab, or null to detect it")
        require(known_freq(self.freq), f"ingest.freq={self.freq!r} is not a pandas frequency alias (such as 'MS', "
                "'W-MON', 'D', 'B', 'h', 'bh', '30min'); or use 'auto' or 'none'")


def ingest(table: Table | pd.DataFrame, params: IngestParams) -> tuple[pd.DataFrame, SeriesInfo]:
    """``select_series`` with these params; its errors name their ``ingest.*`` key."""
    table = table if isinstance(table, Table) else Table(table, params.header_row)
    with param_errors("ingest"):
        series, info = select_series(table, column=params.column, time_column=params.time_column,
                                     start=params.start, stop=params.stop, missing=params.missing, sort=params.sort,
                                     freq=params.freq, decimal=params.decimal)
    if len(series) < 2:
        raise UserError(f"ingest.path={params.path!r}: only {len(series)} rows left after ingest.start/stop and "
                        "missing values; need at least 2")
    return series, info


def run(params: IngestParams, out: Path, info_out: Path) -> None:
    with param_errors("ingest"):
        table = read_table(params.path, params.sheet, params.header_row, params.sep)
    series, info = ingest(table, params)
    write_parquet(out, series)
    write_json(info_out, info.to_json())
    read = f"separator {table.sep!r}, " if table.sep else ""
    log.info("read %d rows from %s (%sheader at row %d): column %r, time column %r, frequency %s; wrote %d values",
             len(table.frame), params.path, read, table.header_row, info.column, info.time_column,
             info.freq or (f"step {info.step:g}" if info.step else "none"), info.rows)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'ingest')")
    parser.add_argument("--out", required=True, type=Path, help="tidy series, Parquet")
    parser.add_argument("--info", required=True, type=Path, help="what was read: columns, frequency, rows; JSON")
    args = parser.parse_args(argv)
    check_outputs(args.out, args.info)  # a bad path fails before any work is done
    run(load_section(IngestParams, "ingest", args.params), args.out, args.info)


if __name__ == "__main__":
    raise SystemExit(main())
