"""Wall time of the train, evaluate and crossval stages on the shipped series at the default params, each in
a fresh process with an empty kernel cache (as on a fresh machine), interleaved over rounds; prints the
medians and crossval's cost as a multiple of train's, measured in the same run.

    .venv/bin/python bench/stages.py [--rounds 3]

Needs the outputs of a `dvc repro` (data/, models/): it copies them to a scratch folder and writes there.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("train", "evaluate", "crossval")


def stage_command(stage: str) -> list[str]:
    cmd = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["cmd"]
    return [sys.executable, *shlex.split(cmd)[1:]]


def timed(stage: str, work: Path) -> float:
    with tempfile.TemporaryDirectory() as cache:  # no kernel build cached: the first run's cost included
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": cache}
        started = time.perf_counter()
        subprocess.run(stage_command(stage), cwd=work, env=env, check=True, capture_output=True)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("data", "models", "params.yaml"):
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, work / name)
        for round_ in range(1, args.rounds + 1):
            for stage in STAGES:
                times[stage].append(timed(stage, work))
            print(f"round {round_}: " + ", ".join(f"{s} {times[s][-1]:.1f} s" for s in STAGES), flush=True)
    medians = {stage: statistics.median(values) for stage, values in times.items()}
    print("median: " + ", ".join(f"{s} {medians[s]:.1f} s" for s in STAGES))
    ratios = [c / t for c, t in zip(times["crossval"], times["train"])]
    print(f"crossval / train, per round: {', '.join(f'{r:.2f}x' for r in ratios)}; "
          f"median {statistics.median(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
