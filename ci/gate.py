"""Regression gate: exit 1 when the workspace is worse than a base revision, beyond noise or a tolerance.

    python -m ci.gate BASE_REV                                  # the LSTM's test RMSE, Diebold-Mariano at 0.05
    python -m ci.gate main --metric test_lstm_mase --alpha 0.01
    python -m ci.gate main --metric val_lstm_rmse --tolerance 0.05
    python -m ci.gate HEAD --all --both-ways --tolerance 1e-6   # every metric equals the committed value

Two rules, each for its own metrics:
- significance: the LSTM's one-step test errors (test_lstm_rmse, _mae, _mase, _skill, _smape) are judged from
  the per-origin errors in metrics/predictions.csv at BASE_REV and in the workspace, on their common test
  origins (ci/predictions.py). A metric fails only when the workspace's loss is higher and the Diebold-Mariano
  test calls the difference significant (p < --alpha). The tolerance plays no part there. When the predictions
  cannot be compared (absent at a revision, or other actual values: another series or split) the gate says so
  in one line and those metrics fall back to the tolerance rule.
- tolerance: every other selected metric is judged in its own direction (ci/direction.py): errors, losses and
  widths lower, skill higher, coverage nearer the nominal level (evaluate.interval at each revision); counts,
  scales and p-values are printed but never fail. A metric whose name gives no direction is an error. A change
  fails when it worsens the metric by more than tolerance x |base value|.
--both-ways is the exact mode: no significance rule; any change of any metric beyond the tolerance fails.
Cross-validation off (`crossval.folds: 0`, metrics/crossval.json then holds only `folds`): on both sides, a
crossval metric named with --metric is left out with one line saying so (0 when nothing else is selected); on one
side only, the crossval metrics the other side has are shown but not judged, with one line saying so: K folds
against none is a change of params.yaml, not a verdict on the forecasts. --both-ways still fails them.
Metrics come from `dvc metrics diff` against BASE_REV, so every metrics file in dvc.yaml counts.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ci.compare import CROSSVAL
from ci.direction import DEFAULT_INTERVAL, EQUAL, LOWER, NOMINAL, describe, direction, judge, nominal_for
from ci.predictions import PREDICTIONS, NotComparable, compare_revisions, judging_loss
from ci.shell import command_main, fail, run
from lstm_forecast.evaluation.scoring import ALPHA

DEFAULT_METRIC = "test_lstm_rmse"
INTERVAL_PARAM = "evaluate.interval"
CROSSVAL_METRIC = re.compile(r"(crossval|fold\d+)_\w+")  # the names crossval writes, `folds` aside


@dataclass(frozen=True)
class Check:
    path: str
    name: str
    old: float | None
    new: float | None
    rule: str
    passed: bool | None  # None: informational, no verdict
    p: float | None = None  # Diebold-Mariano p-value, on the rows of the significance rule
    by_dm: bool = False  # judged by the significance rule's rows instead


def metric_pairs(base: str) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(file, metric) -> (value at ``base``, value in the workspace), for every metric in either."""
    diff = json.loads(run("dvc", "metrics", "diff", base, "--all", "--json") or "{}")
    return {
        (path, name): (values.get("old"), values.get("new"))
        for path, metrics in diff.items()
        for name, values in metrics.items()
    }


def crossval_folds(pairs: dict) -> tuple[int, int]:
    """crossval.folds at the base and in the workspace, read from metrics/crossval.json; 0 where it is absent."""
    old, new = pairs.get((CROSSVAL, "folds"), (None, None))
    return int(old or 0), int(new or 0)


def without_crossval(names: Sequence[str], folds: tuple[int, int]) -> list[str]:
    """``names`` less the crossval metrics when crossval is off on both sides, with one line saying so."""
    if any(folds):
        return list(names)
    off = [name for name in names if CROSSVAL_METRIC.fullmatch(name.removeprefix(f"{CROSSVAL}:"))]
    if off:
        print(f"gate: {', '.join(off)} left out: crossval is off at both revisions (crossval.folds: 0)",
              file=sys.stderr)
    return [name for name in names if name not in off]


def one_sided_crossval(checks: list[Check], folds: tuple[int, int], base: str) -> list[Check]:
    """``checks`` with the crossval metrics of one side only shown, not judged, when crossval is off on the other."""
    if (folds[0] == 0) == (folds[1] == 0):
        return checks
    one_sided = {c.name for c in checks if c.path == CROSSVAL and c.name != "folds" and None in (c.old, c.new)}
    if not one_sided:
        return checks
    print(f"gate: crossval ran {'in the workspace' if folds[1] else f'at {base}'} only (crossval.folds: {folds[0]} "
          f"at {base}, {folds[1]} in the workspace): its {len(one_sided)} metric(s) are shown, not judged",
          file=sys.stderr)
    return [replace(c, passed=None) if c.path == CROSSVAL and c.name in one_sided else c for c in checks]


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
        Check(path, name, old, new, rules[path, name], judge(rules[path, name], old, new, tolerance,
                                                                nominal_for(name, nominal)))
        for (path, name), (old, new) in sorted(pairs.items())
    ]
    return checks, nominal


def significance(base: str, checks: list[Check], names: set[str], alpha: float) -> list[Check]:
    """The significance rule's rows, then ``checks`` with those it covers handed over to them; ``names`` holds
    every metric at either revision. ``checks`` unchanged, and one line saying why, when the predictions cannot
    be compared."""
    try:
        comparisons = compare_revisions(base)
    except NotComparable as err:
        print(f"gate: {err}: the LSTM's test errors are judged by the tolerance rule", file=sys.stderr)
        return checks
    losses = {c.name: judging_loss(c.name, names) for c in checks}
    print(f"gate: the LSTM's one-step errors at the {comparisons[0].origins} test origins common to {base} and the "
          f"workspace, compared by the Diebold-Mariano test (rows with a p)", file=sys.stderr)
    rows = [Check(PREDICTIONS, f"test_lstm_{c.loss}", c.base, c.workspace, LOWER,
                  c.passes(alpha) if c.loss in losses.values() else None, c.p) for c in comparisons]
    return rows + [replace(c, passed=None, by_dm=True) if losses[c.name] else c for c in checks]


def format_value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def table(checks: list[Check], tolerance: float, both_ways: bool, nominal: tuple[float, float],
          alpha: float = ALPHA) -> str:
    """The gate's Markdown table; a p column unless ``both_ways``."""
    if both_ways:
        head, rule = "| metric | base | workspace | change | better |", f"|change| <= {tolerance:g} x |base|"
    else:
        head = "| metric | base | workspace | change | p | better |"
        rule = f"worse by <= {tolerance:g} x |base| (rows with a p: not significantly worse, p >= {alpha:g})"
    lines = [f"{head} {rule} |", "|---" * head.count("|") + "|"]
    for c in checks:
        change = "-" if c.old is None or c.new is None else f"{c.new - c.old:+.6g}"
        rel = "" if c.old in (None, 0) or c.new is None else f" ({(c.new - c.old) / abs(c.old):+.2%})"
        p = "" if both_ways else f" {format_value(c.p)} |"
        verdict = "by DM" if c.by_dm else "-" if c.passed is None else "ok" if c.passed else "FAIL"
        lines.append(
            f"| {c.path}:{c.name} | {format_value(c.old)} | {format_value(c.new)} | {change}{rel} |{p} "
            f"{describe(c.rule, nominal_for(c.name, nominal))} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def summary(checks: list[Check], base: str) -> int:
    """Print the verdict line; 1 when a check failed."""
    judged = [c for c in checks if c.passed is not None]
    failed = [c for c in judged if not c.passed]
    info = f" ({len(checks) - len(judged)} informational, not judged)" if len(judged) < len(checks) else ""
    significant = any(c.path == PREDICTIONS for c in judged)
    if failed:
        rule = "worse beyond the tolerance or significantly" if significant else "changed beyond the tolerance"
        print(f"gate: {len(failed)} of {len(judged)} metric(s) {rule} against {base}{info}", file=sys.stderr)
        return 1
    rule = "within the tolerance or not significantly worse" if significant else "within the tolerance"
    print(f"gate: {len(judged)} metric(s) {rule} against {base}{info}", file=sys.stderr)
    return 0


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare with (a branch, tag or commit)")
    parser.add_argument("--metric", action="append", help=f"metric name, repeatable (default: {DEFAULT_METRIC})")
    parser.add_argument("--all", action="store_true", help="check every metric")
    parser.add_argument("--tolerance", type=float, default=0.02,
                        help="allowed relative worsening of the metrics the significance rule does not judge "
                             "(default 0.02)")
    parser.add_argument("--alpha", type=float, default=ALPHA,
                        help=f"the LSTM's test errors fail when significantly worse: p < alpha (default {ALPHA:g})")
    parser.add_argument("--both-ways", action="store_true",
                        help="exact mode: fail any change beyond the tolerance, improvements too, whatever the metric; "
                             "no significance rule")
    args = parser.parse_args(argv)
    if args.tolerance < 0:
        return fail(f"--tolerance={args.tolerance} should be >= 0")
    if not 0 < args.alpha < 1:
        return fail(f"--alpha={args.alpha} should be between 0 and 1")
    try:
        every = metric_pairs(args.base)
        folds = crossval_folds(every)
        names = None if args.all else without_crossval(args.metric or [DEFAULT_METRIC], folds)
        if names == []:
            print(f"gate: nothing left to judge against {args.base}", file=sys.stderr)
            return 0
        pairs = select(every, names)
        if not pairs:
            return fail(f"no metrics to compare between {args.base} and the workspace")
        checks, nominal = checks_for(args.base, pairs, args.tolerance, args.both_ways)
    except KeyError as err:
        return fail(err.args[0])
    if not args.both_ways:
        checks = significance(args.base, one_sided_crossval(checks, folds, args.base), {name for _, name in every},
                              args.alpha)
    sys.stdout.write(table(checks, args.tolerance, args.both_ways, nominal, args.alpha))
    return summary(checks, args.base)


if __name__ == "__main__":
    raise SystemExit(main())
