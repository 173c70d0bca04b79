"""Regression gate: exit 1 when a metric is worse than at a base revision by more than a relative tolerance.

    python -m ci.gate BASE_REV                                  # LSTM test RMSE, 2% tolerance
    python -m ci.gate main --metric test_lstm_mase --tolerance 0.05
    python -m ci.gate HEAD --all --both-ways --tolerance 1e-6   # every metric equals the committed value

All metrics here are errors or losses, so lower is better; --both-ways fails a change in either direction.
Compares the workspace with BASE_REV through `dvc metrics diff`, so every metrics file in dvc.yaml counts.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from ci.shell import command_main, fail, run

DEFAULT_METRIC = "test_lstm_rmse"


@dataclass(frozen=True)
class Check:
    path: str
    name: str
    old: float | None
    new: float | None
    passed: bool


def metric_pairs(base: str) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(file, metric) -> (value at ``base``, value in the workspace), for every metric in either."""
    diff = json.loads(run("dvc", "metrics", "diff", base, "--all", "--json") or "{}")
    return {
        (path, name): (values.get("old"), values.get("new"))
        for path, metrics in diff.items()
        for name, values in metrics.items()
    }


def judge(old: float | None, new: float | None, tolerance: float, both_ways: bool) -> bool:
    if old is None or new is None:
        return False  # a metric that appeared or vanished is a change the gate cannot vouch for
    if not (math.isfinite(old) and math.isfinite(new)):
        return old == new
    allowed = tolerance * abs(old)
    change = new - old
    return abs(change) <= allowed if both_ways else change <= allowed


def select(pairs: dict, names: Sequence[str] | None) -> dict:
    """The pairs for ``names`` (all when None); a name that is in no metrics file is a usage error."""
    if names is None:
        return pairs
    chosen = {}
    for name in names:
        hits = {key: value for key, value in pairs.items() if key[1] == name or f"{key[0]}:{key[1]}" == name}
        if not hits:
            known = ", ".join(sorted({n for _, n in pairs})) or "none"
            raise KeyError(f"metric {name!r} not found in the metrics files; known metrics: {known}")
        chosen.update(hits)
    return chosen


def format_value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def table(checks: list[Check], tolerance: float, both_ways: bool) -> str:
    rule = f"|change| <= {tolerance:g} x |base|" if both_ways else f"change <= +{tolerance:g} x |base|"
    lines = [f"| metric | base | workspace | change | {rule} |", "|---|---|---|---|---|"]
    for c in checks:
        change = "-" if c.old is None or c.new is None else f"{c.new - c.old:+.6g}"
        rel = "" if c.old in (None, 0) or c.new is None else f" ({(c.new - c.old) / abs(c.old):+.2%})"
        lines.append(
            f"| {c.path}:{c.name} | {format_value(c.old)} | {format_value(c.new)} | {change}{rel} | "
            f"{'ok' if c.passed else 'FAIL'} |"
        )
    return "\n".join(lines) + "\n"


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare with (a branch, tag or commit)")
    parser.add_argument("--metric", action="append", help=f"metric name, repeatable (default: {DEFAULT_METRIC})")
    parser.add_argument("--all", action="store_true", help="check every metric")
    parser.add_argument("--tolerance", type=float, default=0.02, help="allowed relative change (default 0.02)")
    parser.add_argument("--both-ways", action="store_true", help="fail improvements too (for reproducibility)")
    args = parser.parse_args(argv)
    if args.tolerance < 0:
        return fail(f"--tolerance={args.tolerance} should be >= 0")
    try:
        pairs = select(metric_pairs(args.base), None if args.all else (args.metric or [DEFAULT_METRIC]))
    except KeyError as err:
        return fail(err.args[0])
    if not pairs:
        return fail(f"no metrics to compare between {args.base} and the workspace")
    checks = [
        Check(path, name, old, new, judge(old, new, args.tolerance, args.both_ways))
        for (path, name), (old, new) in sorted(pairs.items())
    ]
    sys.stdout.write(table(checks, args.tolerance, args.both_ways))
    failed = [c for c in checks if not c.passed]
    if failed:
        print(f"gate: {len(failed)} of {len(checks)} metric(s) changed beyond the tolerance against {args.base}",
              file=sys.stderr)
        return 1
    print(f"gate: {len(checks)} metric(s) within the tolerance against {args.base}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
