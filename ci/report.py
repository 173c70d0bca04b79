"""Pull-request report in Markdown: params and metrics that changed against a base revision, and the
forecast figure before and after. Everything the CI workflow posts, made here so it can run locally.

    python -m ci.report BASE_REV --images report > report.md
"""
from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from ci.shell import command_main, git_show_bytes, run

FIGURE = "metrics/figures/forecast.png"


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


def report(base: str, images: Path) -> str:
    params = run("dvc", "params", "diff", base, "--md")
    metrics = run("dvc", "metrics", "diff", base, "--md")
    parts = [
        f"# Pipeline report: {base} -> this change\n",
        section("Params", params, "No params changed."),
        section("Metrics", metrics, "No metric changed."),
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
