"""Speed benchmark: seconds per training epoch at the reference config, and the whole default `dvc repro`.

    .venv/bin/python bench/speed.py            # epoch timings and the backtest (a few minutes)
    .venv/bin/python bench/speed.py --repro 1  # also time a full, a no-op and a plot-only `dvc repro`
    .venv/bin/python bench/speed.py --memory 100000 1000000 10000000  # peak RSS of window + train
    .venv/bin/python bench/speed.py --rounds 1 --profile  # also: where a reference-config epoch goes
    .venv/bin/python bench/speed.py --rounds 1 --kernels  # also: one LSTM call, C kernel against torch's, and
                                                          # the kernel built for AVX2 against the native build
    .venv/bin/python bench/speed.py --rounds 0 --stage-epoch 3  # the train stage's cost per epoch, reference config
    .venv/bin/python bench/speed.py --rounds 0 --stage-epoch 3 --against d81c035  # ... and an older commit's, in turn

Prints medians over several epochs, each configuration interleaved with the others so that drift in the
machine's speed hits them alike, and ratios against a plain training loop measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import statistics
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

from lstm_forecast.prep.scaling import fit_scaler  # noqa: E402
from lstm_forecast.model.members import fit  # noqa: E402
from lstm_forecast.model.training import FitSettings  # noqa: E402
from lstm_forecast.prep.windows import Windows  # noqa: E402
from bench.runs import TIME_STEP, peak_rss_window_train, report_repro  # noqa: E402
from bench.kernels import epoch_split, time_builds, time_kernels  # noqa: E402
from bench.cores import checkout, stage_epoch_cost  # noqa: E402

WINDOWS = 700  # the reference tutorial's epoch: rows 1..800 less one window
REFERENCE_TF1_SECONDS = 2.0  # the TensorFlow 1 tutorial's epoch on this machine, as measured for the issue


def shipped_series() -> torch.Tensor:
    values = pd.read_excel(ROOT / "data" / "sunspots.xlsx", engine="openpyxl")["sunspots"].to_numpy(np.float64)
    values = values[: TIME_STEP + WINDOWS + 1]
    return torch.tensor(fit_scaler(values, "zscore").transform(values), dtype=torch.float32)


def ours(series: torch.Tensor, threads: int, epochs: int, batch: int = 7, hidden: int = 8,
         kernel: bool = True) -> list[float]:
    """The train stage's own loop (fit); ``kernel=False``: with torch's LSTM instead of lstm_cpu.c's."""
    torch.set_num_threads(threads)
    train = Windows(series, (TIME_STEP, TIME_STEP + WINDOWS), TIME_STEP, "sequence")
    val = Windows(series, (TIME_STEP + WINDOWS, TIME_STEP + WINDOWS + 1), TIME_STEP, "last")
    # The tutorial's training (lstm_forecast.config.presets.REFERENCE), not FitSettings' panel-chosen defaults.
    params = FitSettings(epochs=epochs, batch_size=batch, hidden_size=hidden, lr=0.006, steps_per_epoch=0, ensemble=1,
                         highway=False, lstm_kernel="c" if kernel else "torch")
    return fit(train, val, params, torch.device("cpu")).epoch_seconds


def plain_loop(series: torch.Tensor, epochs: int, batch: int = 7, hidden: int = 8) -> list[float]:
    """A straightforward PyTorch loop: default threads, stock Adam, windows sliced per batch."""
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp, self.out = nn.Linear(1, hidden), nn.Linear(hidden, 1)
            self.lstm = nn.LSTM(hidden, hidden, 2, batch_first=True)

        def forward(self, x):
            return self.out(self.lstm(self.inp(x))[0])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.006)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(WINDOWS)
        for i in range(0, WINDOWS, batch):
            idx = order[i : i + batch]
            x = torch.stack([series[j : j + TIME_STEP] for j in idx]).unsqueeze(-1)
            y = torch.stack([series[j + 1 : j + TIME_STEP + 1] for j in idx]).unsqueeze(-1)
            loss = nn.functional.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - started)
    return times


def profile_step(epochs: int = 3) -> None:
    """Where a reference-config epoch goes: torch.profiler's self time per op, grouped, over ``epochs`` epochs."""
    from torch.profiler import ProfilerActivity, profile

    series = shipped_series()
    ours(series, 1, 1)  # warm up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        ours(series, 1, epochs)
    groups = {"LSTM forward (C kernel)": ("_StackedLSTM",),
              "LSTM backward (C kernel)": ("_StackedLSTMBackward",),
              "LSTM forward (oneDNN)": ("aten::mkldnn_rnn_layer",),
              "LSTM backward (oneDNN)": ("aten::mkldnn_rnn_layer_backward",),
              "optimizer (FlatAdam)": ("aten::lerp_", "aten::addcmul_", "aten::addcdiv_", "aten::sqrt", "aten::div_",
                                       "aten::mul_")}
    totals = {name: 0.0 for name in groups}
    everything = 0.0
    for event in prof.key_averages():
        everything += event.self_cpu_time_total
        for name, ops in groups.items():
            if event.key in ops:
                totals[name] += event.self_cpu_time_total
    print(f"profile of {epochs} reference-config epochs (self CPU time, profiler overhead included):")
    for name, micros in totals.items():
        if not micros:  # the kernel not used in this config
            continue
        print(f"  {name:<26} {100 * micros / everything:5.1f}%")
    print(f"  {'everything else':<26} {100 * (everything - sum(totals.values())) / everything:5.1f}%"
          "  (linear layers, loss, batch gathering, autograd bookkeeping)")


def time_backtest(origins: int = 5000, horizon: int = 12, rounds: int = 3) -> float:
    """Median seconds for recursive H-step forecasts from ``origins`` origins with the reference model."""
    from lstm_forecast.model.forecasting import forecast
    from lstm_forecast.model.network import LSTMForecaster, ModelConfig

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6, help="epochs per configuration and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of all configurations")
    parser.add_argument("--repro", type=int, default=0, help="full, no-op and plot-only `dvc repro` runs to time")
    parser.add_argument("--profile", action="store_true",
                        help="also print where a reference-config epoch goes, and a default-config one")
    parser.add_argument("--kernels", action="store_true",
                        help="also time single LSTM calls on lstm_cpu.c's kernel against torch's")
    parser.add_argument("--stage-epoch", type=int, default=0, metavar="RUNS",
                        help="the train stage's cost per epoch at the reference config, native and AVX2 builds")
    parser.add_argument("--against", nargs="*", default=[], metavar="REV",
                        help="with --stage-epoch: also time these git revisions' code (native build), in turn")
    parser.add_argument("--memory", type=int, nargs="*", default=[],
                        help="series lengths for the window + train peak-memory table, e.g. 100000 1000000 10000000")
    args = parser.parse_args()

    series = shipped_series()
    configs = {"reference: batch 7, hidden 8": (7, 8), "batch 64, hidden 8": (64, 8), "batch 7, hidden 64": (7, 64)}
    runs: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, (batch, hidden) in configs.items():
            # The first epoch of each run warms caches up and is left out.
            runs.setdefault((name, "ours, 1 thread"), []).extend(ours(series, 1, args.epochs, batch, hidden)[1:])
            runs.setdefault((name, "ours, 2 threads"), []).extend(ours(series, 2, args.epochs, batch, hidden)[1:])
            runs.setdefault((name, "ours, torch LSTM"), []).extend(
                ours(series, 1, args.epochs, batch, hidden, kernel=False)[1:])
            runs.setdefault((name, "plain loop"), []).extend(plain_loop(series, args.epochs, batch, hidden)[1:])
    if args.rounds:
        medians = {key: statistics.median(times) for key, times in runs.items()}
        print(f"training epoch: {WINDOWS} windows, time_step {TIME_STEP}, 2-layer LSTM "
              f"({args.rounds * (args.epochs - 1)} epochs each; torch {torch.__version__}, {os.cpu_count()} CPUs)")
        print(f"{'config':<30} {'loop':<18} {'median s/epoch':>15} {'vs plain loop':>14} {'vs TF1 2.0 s':>13}")
        for (name, loop), median in medians.items():
            plain = medians[(name, "plain loop")]
            print(f"{name:<30} {loop:<18} {median:>15.3f} {plain / median:>13.2f}x "
                  f"{REFERENCE_TF1_SECONDS / median:>12.1f}x")
        print(f"backtest: 5000 origins x 12 steps, recursive, 2 x 8 LSTM: median {time_backtest():.2f} s over 3 runs")
    if args.kernels:
        time_kernels()
        time_builds()
    if args.profile:
        profile_step()
        epoch_split()
    for points in args.memory:
        window_mib, train_mib = peak_rss_window_train(points)
        print(f"peak RSS, {points:>10,} points: window {window_mib:7.0f} MiB, train {train_mib:7.0f} MiB")
    if args.stage_epoch:
        with tempfile.TemporaryDirectory() as tmp:
            sources = {"this code, native": (ROOT, "native"), "this code, x86-64-v3": (ROOT, "x86-64-v3")}
            for rev in args.against:
                into = Path(tmp) / rev.replace("/", "_")
                into.mkdir()
                sources[f"{rev}, native"] = (checkout(rev, into), "native")
            costs, windows = stage_epoch_cost(args.stage_epoch, sources)
        print(f"train stage, reference config: (21 epochs - 1 epoch) / 20 of `dvc repro -f -s train`, s per epoch of "
              f"{windows} windows, medians of {args.stage_epoch} run(s), sources taking turns (the issue's AVX2 "
              f"machine: 0.140 s)")
        for name, times in costs.items():
            median = statistics.median(times)
            print(f"  {name:<28} {median:.3f}  ({', '.join(f'{c:.3f}' for c in times)}); "
                  f"{median * WINDOWS / windows:.3f} s per {WINDOWS} windows")
    if args.repro:
        report_repro(args.repro)


if __name__ == "__main__":
    main()
