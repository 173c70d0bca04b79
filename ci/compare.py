"""Print one Markdown table of all experiments: the params that differ and the test metrics of the LSTM and
the baselines, sorted by the LSTM's test RMSE, without hash or timestamp columns.

    python -m ci.compare            # or: make compare
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ci.shell import command_main, run

MODELS = "lstm|persistence|seasonal_naive"
SORT_BY = "metrics/evaluate.json:test_lstm_rmse"
# Columns never worth a reviewer's width: timestamps, queue state, dependency and output hashes, and the
# metrics not kept below (validation scores, training losses). `--keep` wins over this and --only-changed.
DROP = "Created|State|Executor|step|data/|metrics/|models/|pipeline/|series|val_|train_loss|best_|mase_scale|test_"


def compare_command(metrics: str = "rmse|mase") -> list[str]:
    """`dvc exp show` arguments: params that differ across experiments, test ``metrics`` of every model."""
    return [
        "dvc", "exp", "show", "--md", "--no-pager", "--only-changed",
        "--keep", f"test_({MODELS})_({metrics})$",
        "--drop", DROP,
        "--sort-by", SORT_BY, "--sort-order", "asc",
    ]


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default="rmse|mase", help="regex of metric names to show (rmse|mae|smape|mase)")
    args = parser.parse_args(argv)
    sys.stdout.write(run(*compare_command(args.metrics)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
