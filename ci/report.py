"""Pull-request report in Markdown: params and metrics that changed against a base revision, the
Diebold-Mariano p-values (the gate's, and the LSTM's against each baseline) and the forecast figure before
and after. Everything the CI workflow posts, made here so it can run locally.

    python -m ci.report BASE_REV --images report > report.md
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from ci.gate import metric_pairs
from ci.predictions import NotComparable, compare_revisions
from ci.shell import command_main, git_show_bytes, run
from lstm_forecast.evaluation.scoring import ALPHA

FIGURE = "metrics/figures/forecast.png"
DM_P = re.compile(r"test_lstm_vs_(\w+)_dm_p")


def section(title: str, body: str, empty: str) -> str:
    """A titled section; ``empty`` stands in for a body with no table rows (dvc prints a bare header then)."""
    lines = body.strip().splitlines()
    has_rows = len([line for line in lines if line.startswith("|")]) > 2 or (lines and not lines[0].startswith("|"))
    return f"## {title}\n\n{body.strip() if has_rows else empty}\n"


def figures(base: str, images: Path) -> str:
    """Copy the forecast figure at ``base`` and in the workspace into ``images``; a table showing both."""
    images.mkdir(parents=True, exist_ok=True)
    before, after = images / "forecast-base.png", images / "forecast.png"
    cells = []
    old = git_show_bytes(base, FIGURE)
    if old is None:
        cells.append(f"(no `{FIGURE}` at {base})")
    else:
        before.write_bytes(old)
        cells.append(f"![forecast at {base}]({before.as_posix()})")
    if Path(FIGURE).is_file():
        shutil.copyfile(FIGURE, after)
        cells.append(f"![forecast in this change]({after.as_posix()})")
    else:
        cells.append(f"(no `{FIGURE}` in the workspace: run `dvc repro`)")
    return f"| {base} | this change |\n|---|---|\n| {cells[0]} | {cells[1]} |"


def p_cell(p: float | None) -> str:
    return "-" if p is None else f"{p:.3g}"


def in_words(p: float | None, lower: bool | None) -> str:
    """What a Diebold-Mariano p-value says of a forecast whose mean loss is ``lower`` (or not)."""
    if p is None or lower is None:
        return "-"
    return "no significant difference" if p >= ALPHA else "significantly better" if lower else "significantly worse"


def gate_rows(base: str) -> str:
    """The gate's comparison of the LSTM's one-step test errors at ``base`` and in the workspace."""
    try:
        comparisons = compare_revisions(base)
    except NotComparable as err:
        return f"Not compared: {err}."
    lines = [f"The LSTM's one-step errors on the {comparisons[0].origins} test origins common to {base} and this "
             f"change (`ci.gate`):\n", f"| metric | {base} | this change | p | this change is |",
             "|---|---|---|---|---|"]
    for c in comparisons:
        words = in_words(c.p, not c.worse) if c.p is not None else "worse (errors not finite)" if c.worse else "-"
        lines.append(f"| test_lstm_{c.loss} | {c.base:.6g} | {c.workspace:.6g} | {p_cell(c.p)} | {words} |")
    return "\n".join(lines)


def baseline_rows(base: str) -> str:
    """``test_lstm_vs_<model>_dm_p`` at ``base`` and in the workspace, with what the workspace's says."""
    pairs = {name: values for (path, name), values in metric_pairs(base).items() if path.endswith("evaluate.json")}
    old, new = ({name: values[side] for name, values in pairs.items()} for side in (0, 1))
    lines = ["The LSTM against each baseline on the test origins (`test_lstm_vs_<model>_dm_p`):\n",
             f"| model | p at {base} | p in this change | the LSTM in this change is |", "|---|---|---|---|"]
    for name in sorted(new):
        if (found := DM_P.fullmatch(name)) is None:
            continue
        lstm, other = new.get("test_lstm_rmse"), new.get(f"test_{found[1]}_rmse")
        words = in_words(new[name], None if lstm is None or other is None else lstm < other)
        lines.append(f"| {found[1]} | {p_cell(old[name])} | {p_cell(new[name])} | {words} |")
    return "\n".join(lines) if len(lines) > 3 else "No `test_lstm_vs_<model>_dm_p` in the metrics."


def report(base: str, images: Path) -> str:
    params = run("dvc", "params", "diff", base, "--md")
    metrics = run("dvc", "metrics", "diff", base, "--md")
    parts = [
        f"# Pipeline report: {base} -> this change\n",
        section("Params", params, "No params changed."),
        section("Metrics", metrics, "No metric changed."),
        f"## Significance (Diebold-Mariano, p < {ALPHA:g})\n\n{gate_rows(base)}\n\n{baseline_rows(base)}\n",
        f"## Forecast, before and after\n\n{figures(base, images)}\n",
    ]
    return "\n".join(parts)


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare with (a branch, tag or commit)")
    parser.add_argument("--images", type=Path, default=Path("report"), help="folder for the figures (default report/)")
    args = parser.parse_args(argv)
    sys.stdout.write(report(args.base, args.images))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
