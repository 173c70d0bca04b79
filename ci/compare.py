"""Print one Markdown table of all experiments: the params that differ and the test metrics of every model
evaluate scores (the LSTM and each baseline), sorted by the LSTM's test RMSE, without hash or timestamp columns.

    python -m ci.compare            # or: make compare
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ci.shell import command_main, run

SORT_BY = "metrics/evaluate.json:test_lstm_rmse"
# Columns never worth a reviewer's width: timestamps, queue state, dependency and output hashes, and the
# metrics not kept below (validation scores, training losses). `--keep` wins over this and --only-changed.
DROP = ("Created|State|Executor|step|data/|metrics/|models/|pipeline/|lstm_forecast/|series|val_|train_loss|best_"
        "|mase_scale|test_")


def kept_metrics(metrics: str = "rmse|mase") -> str:
    """The regex of the columns to keep: ``test_<model>_<metric>`` for every model found among the metric
    names, so a model evaluate starts scoring shows up without being listed here. Per-horizon scores end in
    `_h<k>` and stay out."""
    return rf"test_\w+_({metrics})$"


def compare_command(metrics: str = "rmse|mase") -> list[str]:
    """`dvc exp show` arguments: params that differ across experiments, test ``metrics`` of every model."""
    return [
        "dvc", "exp", "show", "--md", "--no-pager", "--only-changed",
        "--keep", kept_metrics(metrics),
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
