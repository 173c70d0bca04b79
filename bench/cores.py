"""Every core and any CPU, measured: the default `dvc repro` of the shipped series with 1 worker against every
core, or with the stages' pinned numerics against LSTM_FORECAST_NUMERICS=native, each stage's seconds and
whether the outputs' bytes agree (run through bench/runs.py --stages / --numerics); and the train stage's
cost per epoch at the reference config, against older commits (bench/speed.py --stage-epoch).
"""
from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.runs import scratch_repo, timed_repro


def outputs_digest(repo: Path) -> str:
    """One hash over every output the repro wrote (data/, models/, metrics/, dvc.lock), file by file."""
    digest = hashlib.sha256()
    for path in sorted(p for d in ("data", "models", "metrics") for p in (repo / d).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    digest.update((repo / "dvc.lock").read_bytes())
    return digest.hexdigest()[:16]


def report_stages(runs: int, numerics: bool = False) -> None:
    """The default `dvc repro` of the shipped series, in fresh scratch repositories, with
    LSTM_FORECAST_WORKERS=1 and with every core (``numerics``: every core, with the stages' pinned numerics and
    with LSTM_FORECAST_NUMERICS=native), alternated ``runs`` times: each stage's median seconds, the whole wall
    time, the ratio of the two (median of the per-run ratios) and whether the outputs' bytes agree."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if numerics:
        settings = {"pinned": {"LSTM_FORECAST_NUMERICS": "portable"}, "native": {"LSTM_FORECAST_NUMERICS": "native"}}
    else:
        settings = {"1 worker": {"LSTM_FORECAST_WORKERS": "1"},
                    f"{cores} workers": {"LSTM_FORECAST_WORKERS": str(cores)}}
    times: dict[str, list[tuple[float, dict[str, float]]]] = {k: [] for k in settings}
    digests: dict[str, set[str]] = {k: set() for k in settings}
    for _ in range(runs):
        for label, extra in settings.items():
            with tempfile.TemporaryDirectory() as tmp:
                repo = Path(tmp)
                env = scratch_repo(repo) | extra
                times[label].append(timed_repro(repo, env)[:2])
                digests[label].add(outputs_digest(repo))
    labels = list(settings)
    print(f"default dvc repro of the shipped series, medians of {runs} run(s) each (seconds):")
    print(f"  {'stage':<10}" + "".join(f"{label:>12}" for label in labels))
    for stage in times[labels[0]][0][1]:
        print(f"  {stage:<10}" + "".join(f"{statistics.median(t[1][stage] for t in times[label]):12.1f}"
                                         for label in labels))
    print(f"  {'total':<10}" + "".join(f"{statistics.median(t[0] for t in times[label]):12.1f}" for label in labels))
    ratios = [b[0] / a[0] for a, b in zip(times[labels[0]], times[labels[-1]])]
    print(f"{labels[-1]} / {labels[0]}, per run: {', '.join(f'{r:.3f}' for r in ratios)} (median "
          f"{statistics.median(ratios):.3f})")
    for label in labels:
        same = len(digests[label]) == 1
        print(f"outputs, {label}: {'the same bytes in every run' if same else 'differ between runs'}")
    same = len(set.union(*digests.values())) == 1
    print(f"outputs, {' against '.join(labels)}: {'byte-identical' if same else 'different'}")


def stage_epoch_cost(runs: int, sources: dict[str, tuple[Path, str]]) -> tuple[dict[str, list[float]], int]:
    """The train stage's cost per epoch at the reference (tutorial) config, as the issue measured it: the
    seconds of `dvc repro -f -s train` with 21 epochs, less those with 1, over 20; ``runs`` times each, for
    each of ``sources`` (name -> project tree and kernel build target), in scratch repositories, the sources
    taking turns within each run. Also the epoch's training windows (the stage's log gives its epochs per
    700 windows, the tutorial's epoch)."""
    import yaml

    from lstm_forecast.config.presets import REFERENCE

    costs: dict[str, list[float]] = {name: [] for name in sources}
    with tempfile.TemporaryDirectory() as tmp:
        repos = {}
        for name, (root, march) in sources.items():
            repo = Path(tmp) / name
            repo.mkdir()
            params = yaml.safe_load((root / "params.yaml").read_text())
            for section, keys in REFERENCE.items():
                params[section].update(keys)
            env = scratch_repo(repo, yaml.safe_dump(params, sort_keys=False), root) | {"LSTM_FORECAST_MARCH": march}
            subprocess.run(["dvc", "repro", "--no-run-cache", "window"], cwd=repo, env=env, check=True,
                           capture_output=True)
            repos[name] = (repo, params, env)
        for _ in range(runs):
            for name, (repo, params, env) in repos.items():
                walls = {}
                for epochs in (1, 21):
                    params["train"]["epochs"] = epochs
                    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
                    started = time.perf_counter()
                    subprocess.run(["dvc", "repro", "--no-run-cache", "-f", "-s", "train"], cwd=repo, env=env,
                                   check=True, capture_output=True)
                    walls[epochs] = time.perf_counter() - started
                costs[name].append((walls[21] - walls[1]) / 20)
        windows = json.loads((repo / "data" / "windows.json").read_text())["counts"]["train"]
    return costs, windows


def checkout(rev: str, into: Path) -> Path:
    """The project's files at git revision ``rev``, laid out under ``into``."""
    archive = subprocess.run(["git", "archive", rev, "pipeline", "lstm_forecast", "data", "dvc.yaml", "params.yaml"],
                             cwd=Path(__file__).resolve().parents[1], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into
