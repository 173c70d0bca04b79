"""Predict: the next steps of any series file, forecast by the model the forecast stage saved, with its bands;
no DVC and no retraining, so last month's model serves this month's data.

    python -m pipeline.predict --history sales.xlsx --steps 12 --out forecast.csv
"""
from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lstm_forecast.data.calendar import known_freq
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.data.files import write_csv
from lstm_forecast.future.bands import series_times
from lstm_forecast.future.model import FutureModel
from lstm_forecast.data.reading import read_table
from lstm_forecast.data.series import select_series
from pipeline.edge import stage_main

log = logging.getLogger("predict")

# What a library argument is called on this command line: ingest's options, as flags.
FLAGS = {"path": "--history", "sheet": "--sheet", "column": "--column", "time_column": "--time-column",
         "missing": "--missing", "sort": "--sort", "freq": "--freq", "header_row": "--header-row", "sep": "--sep",
         "decimal": "--decimal"}


@contextlib.contextmanager
def flag_errors(flags: dict[str, str] = FLAGS) -> Iterator[None]:
    """An ArgumentError from reading a file, as one line naming the command-line option it came from."""
    try:
        yield
    except ArgumentError as err:
        raise UserError(f"{flags.get(err.name, err.name)}={err.value!r}: {err.reason}") from None


def read_history(args: argparse.Namespace):
    """The series in ``args.history``, read and checked as ingest reads its file, with ingest's options."""
    with flag_errors():
        table = read_table(str(args.history), args.sheet, args.header_row, args.sep)
        series, info = select_series(table, column=args.column, time_column=args.time_column, start=None,
                                     stop=None, missing=args.missing, sort=args.sort, freq=args.freq,
                                     decimal=args.decimal)
    if len(series) < 2:
        raise UserError(f"--history={str(args.history)!r}: only {len(series)} rows with values; need at least 2")
    return series, info


def predict(args: argparse.Namespace) -> pd.DataFrame:
    torch.set_num_threads(1)
    history = args.history
    with flag_errors({"path": "--model"}):
        future = FutureModel.load(args.model)  # a file that is not there: MissingInput, which names it
    steps = future.steps if args.steps is None else args.steps
    if not 1 <= steps <= future.steps:
        raise UserError(f"--steps={steps}: the model's bands were calibrated for steps 1..{future.steps} "
                        f"(forecast.steps); ask for 1 to {future.steps}, or rerun the forecast stage with more")
    series, info = read_history(args)
    values, times = series["value"].to_numpy(dtype=np.float64), series_times(series)
    freq = info.freq if times is not None else None
    try:
        future.check_history(values, freq)
    except ArgumentError as err:
        raise UserError(f"--history={str(history)!r}: {err.reason}") from None
    return future.forecast(values, times, freq, steps)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Path("models/forecast.pt"), type=Path,
                        help="the forecast stage's model (default: models/forecast.pt)")
    parser.add_argument("--history", required=True, type=Path, help="the series: .xlsx, .csv or .parquet")
    parser.add_argument("--sheet", help="the workbook's sheet (default: the first)")
    parser.add_argument("--column", help="the value column (default: the single numeric column)")
    parser.add_argument("--time-column", help="the time column (default: the one of dates, or date/time/month)")
    # The rest of ingest's options, with its defaults: a file the pipeline read with other ones needs them too.
    parser.add_argument("--missing", choices=("error", "interpolate", "drop"), default="error",
                        help="empty cells and absent periods (as ingest.missing; default: error)")
    parser.add_argument("--sort", action="store_true", help="sort the rows by time (as ingest.sort)")
    parser.add_argument("--freq", default="auto", help="the calendar: auto, none or a pandas alias (as ingest.freq)")
    parser.add_argument("--header-row", type=int, default=1, help="the row of the column names (as ingest.header_row)")
    parser.add_argument("--sep", help="the CSV separator (default: detected)")
    parser.add_argument("--decimal", choices=(".", ","), help="the CSV decimal mark (default: settled by the cells)")
    parser.add_argument("--steps", type=int, help="values to forecast (default: the forecast stage's steps)")
    parser.add_argument("--out", required=True, type=Path, help="the forecast to write, CSV")
    args = parser.parse_args(argv)
    if not args.out.parent.is_dir():  # a typo in the folder, rather than a folder to create
        raise UserError(f"--out={str(args.out)!r}: the folder {str(args.out.parent)!r} does not exist")
    if args.out.is_dir():
        raise UserError(f"--out={str(args.out)!r}: a folder; name the CSV file to write")
    if args.out.resolve() == args.history.resolve():
        raise UserError(f"--out={str(args.out)!r}: that is the --history file; write the forecast elsewhere")
    if not known_freq(args.freq):
        raise UserError(f"--freq={args.freq!r}: not a pandas frequency alias (such as MS, W-MON, D, h, 30min); "
                        "or auto, or none")
    if args.header_row < 1:
        raise UserError(f"--header-row={args.header_row}: should be >= 1 (the row of the column names)")
    table = predict(args)
    write_csv(args.out, table)
    span = f"from {table['time'].iloc[0]} to {table['time'].iloc[-1]}" if "time" in table else "in steps"
    log.info("forecast the %d values after the last of %s, %s: wrote %s", len(table), args.history, span, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
