"""Whole-stage runs for bench/speed.py: the wall time of a default `dvc repro` in a scratch repository, and the
peak memory of the window and train stages, each in its own process; and the default `dvc repro` of a long
series (a synthetic 5-minute series) with each stage's seconds and the longest silence in its log.

    .venv/bin/python bench/runs.py --repro 3      # the dvc repro timings alone, medians of three runs
    .venv/bin/python bench/runs.py --long 200000  # a 200,000-row 5-minute CSV at the defaults
    .venv/bin/python bench/runs.py --stages 3     # each stage's seconds, 1 worker against every core
    .venv/bin/python bench/runs.py --numerics 3   # each stage's seconds, pinned numerics against native
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# The reference config's input length: bench/speed.py times its epochs with it too.
TIME_STEP = 96


# What time_repro runs after the full `dvc repro`: nothing changed, a plot param, a forecast param (each
# (section key, old, new) as params.yaml writes it).
REPRO_RUNS = ("full default", "no-op", "plot-only", "forecast-only")
CHANGES = (None, None, ("dpi", "100", "90"), ("steps", "auto", "23"))


def scratch_repo(repo: Path, params: str | None = None, root: Path = ROOT) -> dict:
    """Lay this project's files (those under ``root``) into ``repo`` (params.yaml's text replaced by ``params``
    where given), make it a committed git + DVC repository; the environment to run dvc in."""
    for name in ("pipeline", "lstm_forecast", "data", "dvc.yaml", "params.yaml"):
        src = root / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.parquet", "*.json"))
        else:
            shutil.copy(src, repo / name)
    if params is not None:
        (repo / "params.yaml").write_text(params)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1"}
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "bench"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True)
    return env


def time_repro() -> tuple[float, ...]:
    """Wall times of a full default `dvc repro`, then a no-op one, then one after a plot param changed, then
    one after a forecast param changed (the forecast stage alone), in a scratch git repository holding this
    project's files."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        env = scratch_repo(repo)
        walls = []
        for change in CHANGES:
            if change:
                params = repo / "params.yaml"
                before = params.read_text()
                after = before.replace(f"  {change[0]}: {change[1]}", f"  {change[0]}: {change[2]}")
                if after == before:
                    raise RuntimeError(f"params.yaml has no '{change[0]}: {change[1]}' to change")
                params.write_text(after)
            started = time.perf_counter()
            subprocess.run(["dvc", "repro", "--no-run-cache"], cwd=repo, env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        return tuple(walls)


def timed_repro(repo: Path, env: dict) -> tuple[float, dict[str, float], tuple[float, str]]:
    """Run `dvc repro --no-run-cache` in ``repo``: the wall time, each stage's seconds from its "Running stage"
    line to the next one's (the last to the end), and the longest time the log stayed silent with the line
    before that silence."""
    started = last = time.perf_counter()
    stages: dict[str, float] = {}
    silence, before, previous = 0.0, "", ""
    proc = subprocess.Popen(["dvc", "repro", "--no-run-cache"], cwd=repo, env={**env, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        now = time.perf_counter()
        if now - last > silence:
            silence, before = now - last, previous
        last, previous = now, line.strip()
        lines.append(line)
        if line.startswith("Running stage '"):
            stages[line.split("'")[1]] = now
    if proc.wait() != 0:
        raise RuntimeError(f"dvc repro failed in {repo}:\n{''.join(lines[-30:])}")
    total = time.perf_counter() - started
    ends = [*list(stages.values())[1:], started + total]
    return total, {name: end - begin for (name, begin), end in zip(stages.items(), ends)}, (silence, before)


def report_repro(runs: int) -> None:
    """Print the median wall time of each kind of `dvc repro` over ``runs`` runs, and the forecast stage's
    share of the full one."""
    walls = [time_repro() for _ in range(runs)]
    for i, label in enumerate(REPRO_RUNS):
        times = [w[i] for w in walls]
        print(f"{label} dvc repro: median {statistics.median(times):.1f} s over {len(times)} run(s) "
              f"({', '.join(f'{t:.1f}' for t in times)})")
    shares = [w[3] / w[0] for w in walls]
    print(f"forecast-only / full default, per run: {', '.join(f'{s:.3f}' for s in shares)} "
          f"(median {statistics.median(shares):.3f})")


def peak_rss_window_train(points: int, steps: int = 200) -> tuple[float, float]:
    """Peak resident memory (MiB) of the window and train stages, each its own process, on a synthetic
    series of ``points`` values: one epoch of ``steps`` batches, validation over every window."""

    from lstm_forecast.data.artifacts import SeriesInfo
    from lstm_forecast.data.files import write_json, write_parquet
    from lstm_forecast.prep.splits import normalize_series

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = np.arange(points, dtype=np.float64)
        values = 80 + 60 * np.sin(2 * np.pi * t / 132) + np.random.default_rng(0).normal(0, 10, points)
        scaled, norm = normalize_series(pd.DataFrame({"value": values}), (0.7, 0.15, 0.15), "zscore", False)
        with contextlib.chdir(work):  # outputs are written only inside the folder they belong to
            write_parquet("data/scaled.parquet", scaled)
            write_json("data/normalize.json", norm.to_json())
            write_json("data/series.json", SeriesInfo("value", None, None, None, points).to_json())
        (work / "params.yaml").write_text(
            f"window: {{time_step: {TIME_STEP}}}\ntrain: {{epochs: 1, steps_per_epoch: {steps}}}\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        peaks = []
        for stage, *argv in (["window", "--stats", "data/normalize.json", "--info", "data/series.json",
                              "--out", "data/windows.json"],
                             ["train", "--scaled", "data/scaled.parquet", "--windows", "data/windows.json",
                              "--model", "models/model.pt", "--live", "metrics/train"]):
            code = (
                "import runpy, sys\n"
                f"sys.argv = {[stage, *argv]!r}\n"
                "try:\n"
                f"    runpy.run_module('pipeline.{stage}', run_name='__main__', alter_sys=True)\n"
                "except SystemExit as done:\n"
                "    assert not done.code, done.code\n"
                # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
                "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
            )
            proc = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{stage} failed:\n{proc.stderr}")
            out = proc.stdout
            peaks.append(int(out.split()[-1]) / 1024)  # kB
        return peaks[0], peaks[1]


def long_series(rows: int) -> pd.DataFrame:
    """A seeded 5-minute series: a slow trend, a daily and a weekly cycle, noise; time stamps as text."""
    t = np.arange(rows)
    values = (500 + 0.001 * t + 80 * np.sin(2 * np.pi * t / 288) + 20 * np.sin(2 * np.pi * t / 2016)
              + np.random.default_rng(0).normal(0, 10, rows))
    stamps = pd.date_range("2024-01-01", periods=rows, freq="5min").strftime("%Y-%m-%d %H:%M")
    return pd.DataFrame({"time": stamps, "load": values.round(2)})


def report_long(rows: int) -> None:
    """The default `dvc repro` of ``rows`` 5-minute values from a CSV (params.yaml's defaults, with the
    README's season: auto for your own data): each stage's seconds, the whole wall time and the longest time
    the log stayed silent."""
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"] |= {"path": "long.csv", "sheet": None, "column": None}
    params["evaluate"]["season"] = "auto"
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        long_series(rows).to_csv(repo / "long.csv", index=False)
        env = scratch_repo(repo, yaml.safe_dump(params, sort_keys=False))
        total, stages, (silence, before) = timed_repro(repo, env)
    print(f"{rows}-row 5-minute series, default dvc repro: {total:.0f} s in all; the log was silent at most "
          f"{silence:.1f} s, after: {before}")
    for name, seconds in stages.items():
        print(f"  {name:<10} {seconds:7.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repro", type=int, default=3, help="runs of each kind of `dvc repro` to time")
    parser.add_argument("--long", type=int, metavar="ROWS", help="time the default dvc repro of a ROWS-row 5-minute "
                        "series instead")
    parser.add_argument("--stages", type=int, metavar="RUNS", help="each stage's seconds with 1 worker and with every "
                        "core, RUNS runs of each, instead")
    parser.add_argument("--numerics", type=int, metavar="RUNS", help="each stage's seconds on every core with the "
                        "stages' pinned numerics and with LSTM_FORECAST_NUMERICS=native, RUNS runs of each, instead")
    args = parser.parse_args()
    if args.stages or args.numerics:
        sys.path.insert(0, str(ROOT))
        from bench.cores import report_stages

        report_stages(args.stages or args.numerics, numerics=bool(args.numerics))
    elif args.long:
        report_long(args.long)
    else:
        report_repro(args.repro)
