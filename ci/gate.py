"""Regression gate: exit 1 when a metric is worse than at a base revision by more than a relative tolerance.

    python -m ci.gate BASE_REV                                  # LSTM test RMSE, 2% tolerance
    python -m ci.gate main --metric test_lstm_mase --tolerance 0.05
    python -m ci.gate HEAD --all --both-ways --tolerance 1e-6   # every metric equals the committed value

Each metric is judged in its own direction (ci/direction.py): errors, losses and widths lower, skill higher,
coverage nearer the nominal level (evaluate.interval at each revision); counts and scales are printed but never
fail. A metric whose name gives no direction is an error. A change fails when it worsens the metric by more
than tolerance x |base value|. --both-ways ignores the directions and fails any change of any metric beyond
the tolerance. Compares the workspace with BASE_REV through `dvc metrics diff`, so every metrics file in
dvc.yaml counts.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from ci.direction import DEFAULT_INTERVAL, EQUAL, NOMINAL, describe, direction, judge
from ci.shell import command_main, fail, run

DEFAULT_METRIC = "test_lstm_rmse"
INTERVAL_PARAM = "evaluate.interval"


@dataclass(frozen=True)
class Check:
    path: str
    name: str
    old: float | None
    new: float | None
    rule: str
    passed: bool | None  # None: informational, no verdict


def metric_pairs(base: str) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(file, metric) -> (value at ``base``, value in the workspace), for every metric in either."""
    diff = json.loads(run("dvc", "metrics", "diff", base, "--all", "--json") or "{}")
    return {
        (path, name): (values.get("old"), values.get("new"))
        for path, metrics in diff.items()
        for name, values in metrics.items()
    }


def nominal_levels(base: str) -> tuple[float, float]:
    """evaluate.interval at ``base`` and in the workspace; DEFAULT_INTERVAL where a revision has none."""
    diff = json.loads(run("dvc", "params", "diff", base, "--all", "--json") or "{}")
    values = diff.get("params.yaml", {}).get(INTERVAL_PARAM, {})
    old, new = (values.get(side) for side in ("old", "new"))
    return (DEFAULT_INTERVAL if old is None else float(old), DEFAULT_INTERVAL if new is None else float(new))


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


def checks_for(
    base: str, pairs: dict, tolerance: float, both_ways: bool
) -> tuple[list[Check], tuple[float, float]]:
    """One Check per pair, judged by its direction (or by EQUAL with ``both_ways``), and the nominal levels."""
    rules = {key: EQUAL if both_ways else direction(key[1]) for key in pairs}
    nominal = nominal_levels(base) if NOMINAL in rules.values() else (DEFAULT_INTERVAL, DEFAULT_INTERVAL)
    checks = [
        Check(path, name, old, new, rules[path, name], judge(rules[path, name], old, new, tolerance, nominal))
        for (path, name), (old, new) in sorted(pairs.items())
    ]
    return checks, nominal


def format_value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def table(checks: list[Check], tolerance: float, both_ways: bool, nominal: tuple[float, float]) -> str:
    rule = f"|change| <= {tolerance:g} x |base|" if both_ways else f"worse by <= {tolerance:g} x |base|"
    lines = [f"| metric | base | workspace | change | better | {rule} |", "|---|---|---|---|---|---|"]
    for c in checks:
        change = "-" if c.old is None or c.new is None else f"{c.new - c.old:+.6g}"
        rel = "" if c.old in (None, 0) or c.new is None else f" ({(c.new - c.old) / abs(c.old):+.2%})"
        verdict = "-" if c.passed is None else "ok" if c.passed else "FAIL"
        lines.append(
            f"| {c.path}:{c.name} | {format_value(c.old)} | {format_value(c.new)} | {change}{rel} | "
            f"{describe(c.rule, nominal)} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def summary(checks: list[Check], base: str) -> int:
    """Print the verdict line; 1 when a check failed."""
    judged = [c for c in checks if c.passed is not None]
    failed = [c for c in judged if not c.passed]
    info = f" ({len(checks) - len(judged)} informational, not judged)" if len(judged) < len(checks) else ""
    if failed:
        print(f"gate: {len(failed)} of {len(judged)} metric(s) changed beyond the tolerance against {base}{info}",
              file=sys.stderr)
        return 1
    print(f"gate: {len(judged)} metric(s) within the tolerance against {base}{info}", file=sys.stderr)
    return 0


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare with (a branch, tag or commit)")
    parser.add_argument("--metric", action="append", help=f"metric name, repeatable (default: {DEFAULT_METRIC})")
    parser.add_argument("--all", action="store_true", help="check every metric")
    parser.add_argument("--tolerance", type=float, default=0.02, help="allowed relative change (default 0.02)")
    parser.add_argument("--both-ways", action="store_true",
                        help="fail any change beyond the tolerance, improvements too, whatever the metric")
    args = parser.parse_args(argv)
    if args.tolerance < 0:
        return fail(f"--tolerance={args.tolerance} should be >= 0")
    try:
        pairs = select(metric_pairs(args.base), None if args.all else (args.metric or [DEFAULT_METRIC]))
        if not pairs:
            return fail(f"no metrics to compare between {args.base} and the workspace")
        checks, nominal = checks_for(args.base, pairs, args.tolerance, args.both_ways)
    except KeyError as err:
        return fail(err.args[0])
    sys.stdout.write(table(checks, args.tolerance, args.both_ways, nominal))
    return summary(checks, args.base)


if __name__ == "__main__":
    raise SystemExit(main())
