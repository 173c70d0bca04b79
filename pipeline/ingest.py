"""Ingest: read the raw series from .xlsx / .csv / .parquet; write one tidy Parquet file (time, value)."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from lstm_forecast.errors import UserError, param_errors, stage_main
from lstm_forecast.files import check_outputs, write_parquet
from lstm_forecast.params import load_section, require
from lstm_forecast.reading import FORMATS, read_table, select_series

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

    def validate(self) -> None:
        suffix = Path(self.path).suffix.lower()
        require(suffix in FORMATS,
                f"ingest.path={self.path!r}: unsupported file type '{suffix}'; use one of {', '.join(FORMATS)}")
        require(self.start is None or self.start >= 0, f"ingest.start={self.start} should be >= 0")
        require(self.stop is None or self.stop >= 1, f"ingest.stop={self.stop} should be >= 1")
        if self.start is not None and self.stop is not None:
            require(self.start < self.stop, f"ingest.start={self.start} should be smaller than ingest.stop={self.stop}")


def ingest(frame: pd.DataFrame, params: IngestParams) -> pd.DataFrame:
    """``select_series`` with these params; its errors name their ``ingest.*`` key."""
    with param_errors("ingest"):
        series = select_series(frame, column=params.column, time_column=params.time_column, start=params.start,
                               stop=params.stop, missing=params.missing)
    if len(series) < 2:
        raise UserError(f"ingest.path={params.path!r}: only {len(series)} rows left after ingest.start/stop and "
                        "missing values; need at least 2")
    return series


def run(params: IngestParams, out: Path) -> None:
    with param_errors("ingest"):
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
