"""Check that a committed dvc.lock was made from the committed code, params and data.

    dvc repro --force && python -m ci.lock HEAD

After a reproduction the workspace's dvc.lock records what the stages really read. Each stage's command,
params and the hashes of its git-tracked dependencies (code, the input workbook) must equal those in
REV's dvc.lock; otherwise someone changed an input and committed without `dvc repro`. Hashes of outputs
and of intermediate files are left to ci.gate, which compares metrics with a tolerance.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from ci.shell import command_main, fail, git_show_bytes, run


def stage_inputs(lock: dict, tracked: set[str]) -> dict[str, dict]:
    """Per stage: its command, params and {path: md5} of the dependencies git tracks."""
    return {
        name: {
            "cmd": stage.get("cmd"),
            "params": stage.get("params", {}),
            "deps": {d["path"]: d.get("md5") for d in stage.get("deps", []) if d["path"] in tracked},
        }
        for name, stage in (lock.get("stages") or {}).items()
    }


def differences(committed: dict[str, dict], actual: dict[str, dict]) -> list[str]:
    out = []
    for name in sorted(set(committed) | set(actual)):
        old, new = committed.get(name), actual.get(name)
        if old is None or new is None:
            out.append(f"stage {name}: {'missing from' if old is None else 'not in'} the committed dvc.lock")
            continue
        for field in ("cmd", "params"):
            if old[field] != new[field]:
                out.append(f"stage {name}: {field} differs")
        for path in sorted(set(old["deps"]) | set(new["deps"])):
            if old["deps"].get(path) != new["deps"].get(path):
                out.append(f"stage {name}: dependency {path} differs")
    return out


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default="HEAD", help="revision whose dvc.lock is checked (default HEAD)")
    args = parser.parse_args(argv)
    committed_bytes = git_show_bytes(args.rev, "dvc.lock")
    if committed_bytes is None:
        return fail(f"no dvc.lock at {args.rev}: run dvc repro and commit dvc.lock")
    tracked = set(run("git", "ls-files").splitlines())
    committed = stage_inputs(yaml.safe_load(committed_bytes), tracked)
    actual = stage_inputs(yaml.safe_load(Path("dvc.lock").read_text()), tracked)
    problems = differences(committed, actual)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return fail(f"dvc.lock at {args.rev} is stale: run dvc repro and commit dvc.lock and metrics/", code=1)
    print(f"lock: dvc.lock at {args.rev} matches the committed code, params and data", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
