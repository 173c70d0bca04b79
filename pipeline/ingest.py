"""Ingest: read the raw series from .xlsx / .csv / .parquet; write one tidy Parquet file (time, value)."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.errors import UserError, param_errors
from lstm_forecast.data.files import check_outputs, write_json, write_parquet
from lstm_forecast.config.ingest import IngestParams
from lstm_forecast.config.params import load_section
from lstm_forecast.data.reading import Table, read_table
from lstm_forecast.data.series import select_series
from pipeline.edge import stage_main

log = logging.getLogger("ingest")


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
    if params.path is None:
        raise UserError("missing param 'ingest.path': the file that holds the series (.xlsx, .csv or .parquet)")
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
