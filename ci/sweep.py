"""Sweep: one DVC experiment per combination of the grid in sweep.yaml, run them, print the comparison.

    python -m ci.sweep [--grid sweep.yaml] [--jobs 1]      # or: make sweep
    python -m ci.sweep --matrix [--grid sweep.yaml]        # the grid as a GitHub Actions matrix (sweep.yml)

Experiments run on a copy of the last commit plus changes to files git tracks: untracked files are not
seen, so commit new files first. With --jobs 1 (the default) each runs in turn in a temporary folder
(`dvc exp run --temp`); with more, they go through DVC's task queue, whose workers now and then fail to
shut down once the queue is empty (treeverse/dvc#10398), leaving the sweep waiting.
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from ci.compare import compare_table
from ci.shell import command_main, fail, run, untracked_files


def load_grid(path: Path, params_path: Path = Path("params.yaml")) -> dict[str, list]:
    """The grid as {"section.key": [values]}, checked against the keys params.yaml has."""
    if not path.is_file():
        raise ValueError(f"{path}: grid file not found")
    grid = yaml.safe_load(path.read_text()) or {}
    params = yaml.safe_load(params_path.read_text()) or {}
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"{path}: expected a mapping of section.key to a list of values")
    for key, values in grid.items():
        section, _, name = str(key).partition(".")
        if name not in (params.get(section) or {}):
            raise ValueError(f"{path}: '{key}' is not a key of {params_path} (section.key, e.g. train.lr)")
        if not isinstance(values, list) or not values or any(isinstance(v, (dict, list)) for v in values):
            raise ValueError(f"{path}: '{key}' should be a non-empty list of values, got {values!r}")
    return grid


def set_params_args(grid: dict[str, list]) -> list[str]:
    """`-S key=v1,v2` per axis: DVC's (Hydra's) sweep syntax queues the cartesian product."""
    args = []
    for key, values in grid.items():
        args += ["-S", f"{key}={','.join(str(v) for v in values)}"]
    return args


def combinations(grid: dict[str, list]) -> list[dict]:
    """Every point of the grid as {"section.key": value}, in the order of the cartesian product."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def matrix(grid: dict[str, list]) -> dict:
    """The GitHub Actions matrix of the grid: one entry per point, with a name fit for an experiment (a git
    ref) and its `-S key=value` arguments, split on spaces by the workflow."""
    short = {key: key.rpartition(".")[2] for key in grid}
    if len(set(short.values())) < len(short):
        short = {key: key for key in grid}  # two sections share a key name: keep the sections in the name
    include = []
    for point in combinations(grid):
        for key, value in point.items():
            if re.search(r"\s", str(value)):
                raise ValueError(f"'{key}' value {str(value)!r} has whitespace, which the workflow cannot pass")
        name = "-".join(f"{short[key]}{value}" for key, value in point.items())
        args = " ".join(f"-S {key}={value}" for key, value in point.items())
        include.append({"name": re.sub(r"[^A-Za-z0-9_-]+", "_", name), "args": args})
    return {"include": include}


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=Path("sweep.yaml"), help="grid file (default sweep.yaml)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="experiments run at once (default 1; more use DVC's task queue)")
    parser.add_argument("--matrix", action="store_true",
                        help="print the grid as GitHub Actions matrix JSON on one line and run nothing")
    args = parser.parse_args(argv)
    try:
        grid = load_grid(args.grid)
        if args.matrix:
            print(json.dumps(matrix(grid), separators=(",", ":")))
            return 0
    except ValueError as err:
        return fail(str(err))
    count = len(combinations(grid))
    untracked = untracked_files()
    if untracked:
        print(f"sweep: warning: queued experiments will not see untracked files: {', '.join(untracked)}",
              file=sys.stderr)
    print(f"sweep: {count} experiments from {args.grid}", file=sys.stderr)
    if args.jobs > 1:
        run("dvc", "exp", "run", "--queue", *set_params_args(grid))
        run("dvc", "exp", "run", "--run-all", "--jobs", str(args.jobs), capture=False)
    else:
        for point in combinations(grid):
            sets = [arg for key, value in point.items() for arg in ("-S", f"{key}={value}")]
            run("dvc", "exp", "run", "--temp", *sets, capture=False)
    sys.stdout.write(compare_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
