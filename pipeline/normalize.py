"""Normalize: split the series chronologically and scale it with statistics of the training span only."""
from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pipeline.errors import UserError, stage_main
from pipeline.files import check_outputs, read_parquet, write_json, write_parquet
from pipeline.params import load_section, require
from pipeline.scaling import fit_scaler

log = logging.getLogger("normalize")

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class NormalizeParams:
    train: float = 0.7
    val: float = 0.15
    test: float = 0.15
    method: Literal["zscore", "minmax"] = "zscore"
    # Model the one-step changes y[t] - y[t-1] instead of the levels; forecasts are summed back onto the
    # last observed value. The first point has no change and is modelled as 0.
    difference: bool = False

    def validate(self) -> None:
        for name in SPLITS:
            value = getattr(self, name)
            require(0 < value < 1, f"normalize.{name}={value} should be a fraction between 0 and 1 (exclusive)")
        total = self.train + self.val + self.test
        require(
            math.isclose(total, 1.0, abs_tol=1e-9),
            f"normalize.train + val + test = {self.train} + {self.val} + {self.test} = {total:g}; they should sum to 1",
        )


def split_bounds(n: int, params: NormalizeParams) -> dict[str, list[int]]:
    """Chronological [start, stop) bounds of each split; test takes the remainder."""
    # The epsilon absorbs float error: 2820 * 0.7 is 1973.9999999999998, which is 1974 values.
    n_train = math.floor(n * params.train + 1e-9)
    n_val = math.floor(n * params.val + 1e-9)
    bounds = {"train": [0, n_train], "val": [n_train, n_train + n_val], "test": [n_train + n_val, n]}
    sizes = {k: b - a for k, (a, b) in bounds.items()}
    if min(sizes.values()) < 1:
        raise UserError(
            f"series of {n} values is too short for the splits "
            f"train/val/test = {sizes['train']}/{sizes['val']}/{sizes['test']}; every split needs at least 1 value"
        )
    return bounds


def normalize(series: pd.DataFrame, params: NormalizeParams) -> tuple[pd.DataFrame, dict]:
    """Return the series with ``scaled`` and ``split`` columns, and the stats / bounds to save."""
    values = series["value"].to_numpy(dtype=np.float64)
    bounds = split_bounds(len(values), params)
    modelled = np.diff(values, prepend=values[0]) if params.difference else values
    train_lo, train_hi = bounds["train"]
    # Fit on the training span only; with differencing, without the artificial first change.
    scaler = fit_scaler(modelled[train_lo + int(params.difference) : train_hi], params.method)
    out = series.copy()
    out["scaled"] = scaler.transform(modelled)
    labels = np.empty(len(values), dtype=object)
    for name, (a, b) in bounds.items():
        labels[a:b] = name
    out["split"] = labels
    info = {"length": len(values), "scaler": scaler.to_json(), "splits": bounds, "difference": params.difference}
    return out, info


def run(params: NormalizeParams, series_path: Path, out: Path, stats_out: Path) -> None:
    series = read_parquet(series_path)
    scaled, info = normalize(series, params)
    write_parquet(out, scaled)
    write_json(stats_out, info)
    sizes = {k: b - a for k, (a, b) in info["splits"].items()}
    log.info("%s scaling fitted on %d training values; splits %s", params.method, sizes["train"], sizes)


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
