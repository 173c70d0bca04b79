"""Print one Markdown table of all experiments: the params that differ, the test metrics of every model
evaluate scores and, once dvc.yaml declares metrics/crossval.json, the cross-validation mean +- sd of the
LSTM and of the best baseline; without hash or timestamp columns.

    python -m ci.compare            # or: make compare

Rows are sorted by the LSTM's mean cross-validation MASE when the workspace's metrics/crossval.json holds it
(an average over every fold, today's among them, so no single span decides), else by its validation RMSE:
before dvc.yaml declares crossval, with `crossval.folds: 0` (the file then holds only `folds`), or before
crossval has run; the tool says so in one line. Never by the test figures alone: picking the experiment with
the best test score is how a test span gets overfitted; the test columns are there to report.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from ci.shell import command_main, run

EVALUATE = "metrics/evaluate.json"
CROSSVAL = "metrics/crossval.json"
# The test metrics the table shows unless --metrics says otherwise: every model's errors, the LSTM band's score.
SHOWN_METRICS = "rmse|mase|msis"
SORT_VALIDATION = "val_lstm_rmse"
SORT_CROSSVAL = "crossval_lstm_mase_mean"
# Columns never worth a reviewer's width: timestamps, queue state, dependency and output hashes, and the
# metrics not kept below (validation scores, training losses, per-fold scores, ensemble members). `--keep` wins over this
# and --only-changed.
DROP = (r"Created|State|Executor|step|data/|metrics/|models/|pipeline/|lstm_forecast/|series|val_|train_loss"
        r"|best_|mase_scale|test_|crossval_|fold\d|member\d|ensemble_")


def kept_metrics(metrics: str = SHOWN_METRICS) -> str:
    """The regex of the test columns to keep: ``test_<model>_<metric>`` for every model found among the
    metric names, so a model evaluate starts scoring shows up without being listed here. Per-horizon scores
    end in `_h<k>` and stay out."""
    return rf"test_\w+_({metrics})$"


def declared_metrics(dvc_yaml: Path) -> set[str]:
    """The metrics files dvc.yaml declares, at the top level and in its stages."""
    spec = yaml.safe_load(dvc_yaml.read_text()) or {}
    entries = list(spec.get("metrics") or [])
    entries += [e for stage in (spec.get("stages") or {}).values() for e in stage.get("metrics") or []]
    return {e if isinstance(e, str) else next(iter(e)) for e in entries}


def best_baseline(crossval: dict[str, float], metric: str = "mase") -> str | None:
    """The model other than the LSTM with the lowest ``crossval_<model>_<metric>_mean``; None without one."""
    found = re.compile(rf"crossval_(\w+)_{metric}_mean")
    means = {m[1]: value for key, value in crossval.items() if (m := found.fullmatch(key)) and m[1] != "lstm"}
    return min(means, key=means.get) if means else None


def read_crossval(path: Path) -> dict[str, float]:
    """The workspace's cross-validation metrics; empty until crossval has run (or in an empty file)."""
    text = path.read_text() if path.is_file() else ""
    return json.loads(text) if text.strip() else {}


def sort_column(root: Path = Path(".")) -> tuple[str, str | None]:
    """The `--sort-by` column: SORT_CROSSVAL when the workspace's crossval metrics hold it, else SORT_VALIDATION
    and the line saying why (dvc stops on a sort column that no row has)."""
    if CROSSVAL not in declared_metrics(root / "dvc.yaml"):
        return f"{EVALUATE}:{SORT_VALIDATION}", None  # a project without the crossval stage: nothing to say
    crossval = read_crossval(root / CROSSVAL)
    if SORT_CROSSVAL in crossval:
        return f"{CROSSVAL}:{SORT_CROSSVAL}", None
    if not (root / CROSSVAL).is_file():
        why = "not written yet: run dvc repro"
    else:
        why = f"crossval.folds: {crossval['folds']}" if "folds" in crossval else "the file holds no such key"
    return f"{EVALUATE}:{SORT_VALIDATION}", (
        f"compare: no {SORT_CROSSVAL} in the workspace's {CROSSVAL} ({why}): rows sorted by the LSTM's validation "
        f"RMSE, {SORT_VALIDATION}")


def compare_command(metrics: str = "rmse|mase", crossval_metrics: str = "mase",
                    root: Path = Path(".")) -> list[str]:
    """`dvc exp show` arguments: params that differ across experiments, test ``metrics`` of every model, and
    with crossval the ``crossval_metrics`` means and sds of the LSTM and the best baseline (by MASE in the
    workspace); sorted by ``sort_column``."""
    keep = [kept_metrics(metrics)]
    sort_by, _ = sort_column(root)
    if CROSSVAL in declared_metrics(root / "dvc.yaml"):  # shown wherever an experiment has them
        models = "|".join(re.escape(m) for m in ("lstm", best_baseline(read_crossval(root / CROSSVAL))) if m)
        keep.append(rf"crossval_({models})_({crossval_metrics})_(mean|sd)$")
    keep.append(rf"{sort_by.partition(':')[2]}$")  # the figure the rows are sorted by, shown
    return [
        "dvc", "exp", "show", "--md", "--no-pager", "--only-changed",
        "--keep", "|".join(keep),
        "--drop", DROP,
        "--sort-by", sort_by, "--sort-order", "asc",
    ]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def render(rows: list[list[str]]) -> str:
    """A Markdown table, padded like dvc's; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines) + "\n"


def merge_spread(markdown: str) -> str:
    """Each pair of columns ``<name>_mean`` and ``<name>_sd`` of dvc's table as one ``<name> (mean ± sd)``."""
    rows = [cells(line) for line in markdown.splitlines() if line.startswith("|")]
    if len(rows) < 2:
        return markdown
    header = rows[0]
    pairs = {i: header.index(f"{h[:-5]}_sd") for i, h in enumerate(header)
             if h.endswith("_mean") and f"{h[:-5]}_sd" in header}
    if not pairs:
        return markdown

    def merged(row: list[str], head: bool) -> list[str]:
        out = []
        for i, cell in enumerate(row):
            if i in pairs:
                sd = row[pairs[i]]
                cell = f"{cell[:-5]} (mean ± sd)" if head else cell if sd == "-" else f"{cell} ± {sd}"
            if i not in pairs.values():
                out.append(cell)
        return out

    return render([merged(header, True), *(merged(row, False) for row in rows[2:])])


def compare_table(metrics: str = "rmse|mase", crossval_metrics: str = "mase") -> str:
    """The table `make compare` prints; the line saying why it is not sorted by crossval, on stderr."""
    _, why = sort_column()
    if why is not None:
        print(why, file=sys.stderr)
    return merge_spread(run(*compare_command(metrics, crossval_metrics)))


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default=SHOWN_METRICS,
                        help="regex of the test metrics to show (rmse|mae|smape|mase|msis|pinball|coverage|width; "
                             "default rmse|mase|msis: the LSTM's band by its interval score)")
    parser.add_argument("--crossval-metrics", default="mase",
                        help="regex of the cross-validation metrics to show as mean +- sd (default mase)")
    args = parser.parse_args(argv)
    sys.stdout.write(compare_table(args.metrics, args.crossval_metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
