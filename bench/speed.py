"""Speed benchmark: seconds per training epoch at the reference config, and the whole default `dvc repro`.

    .venv/bin/python bench/speed.py            # epoch timings only (about a minute)
    .venv/bin/python bench/speed.py --repro 1  # also time one full default `dvc repro` in a scratch copy

Prints medians over several epochs, each configuration interleaved with the others so that drift in the
machine's speed hits them alike, and ratios against a plain training loop measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.train import TrainParams, fit  # noqa: E402
from pipeline.window import Windows  # noqa: E402

TIME_STEP = 96
WINDOWS = 700  # the reference tutorial's epoch: rows 1..800 less one window
REFERENCE_TF1_SECONDS = 2.0  # the TensorFlow 1 tutorial's epoch on this machine, as measured for the issue


def shipped_series() -> torch.Tensor:
    values = pd.read_excel(ROOT / "data" / "sunspots.xlsx", engine="openpyxl")["sunspots"].to_numpy(np.float64)
    values = values[: TIME_STEP + WINDOWS + 1]
    return torch.tensor((values - values.mean()) / values.std(), dtype=torch.float32)


def ours(series: torch.Tensor, threads: int, epochs: int) -> list[float]:
    """The train stage's own loop (fit), at the reference config."""
    torch.set_num_threads(threads)
    train = Windows(series, (TIME_STEP, TIME_STEP + WINDOWS), TIME_STEP, "sequence")
    val = Windows(series, (TIME_STEP + WINDOWS, TIME_STEP + WINDOWS + 1), TIME_STEP, "last")
    result = fit(train, val, TrainParams(epochs=epochs, threads=threads), torch.device("cpu"))
    return result.epoch_seconds


def plain_loop(series: torch.Tensor, epochs: int) -> list[float]:
    """A straightforward PyTorch loop: default threads, stock Adam, windows sliced per batch."""
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp, self.lstm, self.out = nn.Linear(1, 8), nn.LSTM(8, 8, 2, batch_first=True), nn.Linear(8, 1)

        def forward(self, x):
            return self.out(self.lstm(self.inp(x))[0])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.006)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(WINDOWS)
        for i in range(0, WINDOWS, 7):
            idx = order[i : i + 7]
            x = torch.stack([series[j : j + TIME_STEP] for j in idx]).unsqueeze(-1)
            y = torch.stack([series[j + 1 : j + TIME_STEP + 1] for j in idx]).unsqueeze(-1)
            loss = nn.functional.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - started)
    return times


def time_backtest(origins: int = 5000, horizon: int = 12, rounds: int = 3) -> float:
    """Median seconds for recursive H-step forecasts from ``origins`` origins with the reference model."""
    from pipeline.model import LSTMForecaster, ModelConfig, forecast

    torch.set_num_threads(1)
    series = torch.randn(origins + TIME_STEP + horizon)
    windows = Windows(series, (TIME_STEP, TIME_STEP + origins), TIME_STEP, "last", horizon)
    model = LSTMForecaster(ModelConfig()).eval()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        forecast(model, windows, horizon, "recursive")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_repro() -> float:
    """Wall time of a full default `dvc repro` in a scratch git repository holding this project's files."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        for name in ("pipeline", "data", "dvc.yaml", "params.yaml"):
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.parquet", "*.json"))
            else:
                shutil.copy(src, repo / name)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               "DVC_NO_ANALYTICS": "1"}
        for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "bench"]):
            subprocess.run(cmd, cwd=repo, env=env, check=True)
        started = time.perf_counter()
        subprocess.run(["dvc", "repro", "--no-run-cache"], cwd=repo, env=env, check=True, capture_output=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6, help="epochs per configuration and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of all configurations")
    parser.add_argument("--repro", type=int, default=0, help="full default `dvc repro` runs to time")
    args = parser.parse_args()

    series = shipped_series()
    runs = {"ours, 1 thread": [], "ours, 2 threads": [], "plain loop, default threads": []}
    for _ in range(args.rounds):
        runs["ours, 1 thread"] += ours(series, 1, args.epochs)[1:]  # the first epoch warms caches up
        runs["ours, 2 threads"] += ours(series, 2, args.epochs)[1:]
        runs["plain loop, default threads"] += plain_loop(series, args.epochs)[1:]
    medians = {name: statistics.median(times) for name, times in runs.items()}
    plain = medians["plain loop, default threads"]
    print(f"training epoch: {WINDOWS} windows, time_step {TIME_STEP}, 2 x 8 LSTM, batch 7 "
          f"({len(runs['ours, 1 thread'])} epochs each; torch {torch.__version__}, {os.cpu_count()} CPUs)")
    print(f"{'configuration':<30} {'median s/epoch':>15} {'vs plain loop':>14} {'vs TF1 2.0 s':>13}")
    for name, median in medians.items():
        print(f"{name:<30} {median:>15.3f} {plain / median:>13.2f}x {REFERENCE_TF1_SECONDS / median:>12.1f}x")
    print(f"backtest: 5000 origins x 12 steps, recursive, 2 x 8 LSTM: median {time_backtest():.2f} s over 3 runs")
    if args.repro:
        walls = [time_repro() for _ in range(args.repro)]
        print(f"full default dvc repro: median {statistics.median(walls):.1f} s over {len(walls)} run(s) "
              f"({', '.join(f'{w:.1f}' for w in walls)})")


if __name__ == "__main__":
    main()
