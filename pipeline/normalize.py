"""Normalize: split the series chronologically and scale it with statistics of the training span only."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_forecast.data.artifacts import Normalization
from lstm_forecast.errors import param_errors
from lstm_forecast.data.files import check_outputs, read_parquet, write_json, write_parquet
from lstm_forecast.config.params import load_section
from lstm_forecast.config.normalize import NormalizeParams
from lstm_forecast.prep.outliers import OUTLIER_MADS, Outliers
from lstm_forecast.prep.splits import scale_and_flag, split_bounds
from pipeline.edge import stage_main

log = logging.getLogger("normalize")


# How many outliers the warning names.
NAMED = 5


def outlier_line(found: Outliers, series: pd.DataFrame, norm: Normalization, policy: str) -> str:
    """The warning: how many values are outliers, the first ones by time stamp (or row) and value, the rule,
    and what was done."""
    values = series["value"].to_numpy()
    where = series["time"].astype(str).to_numpy() if "time" in series else np.arange(len(series)).astype(str)
    named = ", ".join(f"{where[i]} ({values[i]:g})" for i in found.positions[:NAMED])
    more = f" and {len(found.positions) - NAMED} more" if len(found.positions) > NAMED else ""
    count = len(found.positions)
    what = ("one-step change into" if norm.difference else "value at") if count == 1 else \
        ("one-step changes into" if norm.difference else "values at")
    low, high = found.bounds
    done = (f"clipped to [{low:.4g}, {high:.4g}] for the model (normalize.outliers: clip); the scores read the "
            "values as they are" if policy == "clip" else "kept as they are (normalize.outliers: keep; clip limits "
            "them for the model)")
    return (f"{count} outlier{'s' if count > 1 else ''}, the {what} {named}{more}: further than {OUTLIER_MADS:g} robust deviations "
            f"(MAD) from the training span's median; {done}")


def run(params: NormalizeParams, series_path: Path, out: Path, stats_out: Path) -> None:
    series = read_parquet(series_path)
    with param_errors("normalize"):
        scaled, norm, found = scale_and_flag(series, split_bounds(len(series), (params.train, params.val, params.test)),
                                             params.method, params.difference, params.outliers)
    if len(found.positions):
        log.warning("%s", outlier_line(found, series, norm, params.outliers))
    write_parquet(out, scaled)
    write_json(stats_out, norm.to_json())
    sizes = {k: b - a for k, (a, b) in norm.splits.items()}
    log.info("%s scaling fitted on %d training values; splits %s", params.method, sizes["train"], sizes)
    if norm.difference_test is not None:
        test = norm.difference_test
        log.info("difference: auto chose %s: KPSS statistic %.3f, p %.3f with %d lags (levels %s at alpha %.2f)",
                 "changes" if norm.difference else "levels", test["statistic"], test["p_value"], test["lags"],
                 "not stationary" if norm.difference else "stationary", test["alpha"])


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'normalize')")
    parser.add_argument("--series", required=True, type=Path, help="tidy series from ingest, Parquet")
    parser.add_argument("--out", required=True, type=Path, help="scaled series with split labels, Parquet")
    parser.add_argument("--stats", required=True, type=Path, help="scaler statistics and split bounds, JSON")
    args = parser.parse_args(argv)
    check_outputs(args.out, args.stats)  # a bad path fails before any work is done
    run(load_section(NormalizeParams, "normalize", args.params), args.series, args.out, args.stats)


if __name__ == "__main__":
    raise SystemExit(main())
