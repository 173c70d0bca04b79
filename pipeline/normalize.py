"""Normalize: split the series chronologically and scale it with statistics of the training span only."""
from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lstm_forecast.errors import param_errors, stage_main
from lstm_forecast.files import check_outputs, read_parquet, write_json, write_parquet
from lstm_forecast.params import load_section, require
from lstm_forecast.splits import normalize_series

log = logging.getLogger("normalize")


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
        for name in ("train", "val", "test"):
            value = getattr(self, name)
            require(0 < value < 1, f"normalize.{name}={value} should be a fraction between 0 and 1 (exclusive)")
        total = self.train + self.val + self.test
        require(
            math.isclose(total, 1.0, abs_tol=1e-9),
            f"normalize.train + val + test = {self.train} + {self.val} + {self.test} = {total:g}; they should sum to 1",
        )


def run(params: NormalizeParams, series_path: Path, out: Path, stats_out: Path) -> None:
    series = read_parquet(series_path)
    with param_errors("normalize"):
        scaled, norm = normalize_series(series, (params.train, params.val, params.test), params.method,
                                        params.difference)
    write_parquet(out, scaled)
    write_json(stats_out, norm.to_json())
    sizes = {k: b - a for k, (a, b) in norm.splits.items()}
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
