"""Kernel calls and profiles for bench/speed.py: one LSTM call on lstm_cpu.c against torch's, the kernel built
for AVX2 against the native build, and where an epoch at the default configuration goes (cProfile)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from bench.runs import ROOT, TIME_STEP
from lstm_forecast.model.members import fit
from lstm_forecast.model.training import FitSettings
from lstm_forecast.prep.scaling import fit_scaler
from lstm_forecast.prep.windows import Windows


def epoch_split(epochs: int = 6) -> None:
    """Where an epoch of the train stage's loop goes at the default configuration (batch 32, 192 steps, 2 x 16,
    the highway, 50 batches an epoch; no calendar inputs), by cProfile over one member's ``epochs`` epochs:
    training steps (the kernel's forward and backward, Adam), validation, the best epoch's weights kept,
    the progress lines."""
    import cProfile
    import pstats

    from lstm_forecast.model import forecasting, lstm_cpu, optim, progress, training

    torch.set_num_threads(1)
    values = pd.read_excel(ROOT / "data" / "sunspots.xlsx", engine="openpyxl")["sunspots"].to_numpy(np.float64)
    z = torch.tensor(fit_scaler(values[:1974], "zscore").transform(values), dtype=torch.float32)
    train = Windows(z, (192, 1974), 192, "sequence")
    val = Windows(z, (1974, 2397), 192, "last")
    settings = FitSettings(epochs=epochs, patience=0, ensemble=1)
    fit(train, val, FitSettings(epochs=1, ensemble=1), torch.device("cpu"))  # warm up: the kernel's build
    profiler = cProfile.Profile()
    profiler.runcall(fit, train, val, settings, torch.device("cpu"))
    stats = pstats.Stats(profiler)
    cumulative = {(f[0], f[2]): v[3] for f, v in stats.stats.items()}

    def seconds(module, name: str) -> float:
        return sum(t for (file, fn), t in cumulative.items() if fn == name and file == module.__file__)

    total = seconds(training, "fit_member")
    parts = {
        "training steps": seconds(training, "train_epoch"),
        "  of which the kernel's forward": seconds(lstm_cpu, "forward"),
        "  of which the kernel's backward": seconds(lstm_cpu, "backward"),
        "  of which Adam": seconds(optim, "step"),
        "validation (forecast_mse)": seconds(forecasting, "forecast_mse"),
        "best epoch's weights kept": seconds(training, "offer"),
        "progress lines": seconds(progress, "tick") + seconds(progress, "epoch_done"),
    }
    print(f"one member's {epochs} epochs at the default configuration, cProfile (its overhead included): "
          f"{total / epochs:.3f} s an epoch")
    for name, value in parts.items():
        print(f"  {name:<34} {value / epochs:7.3f} s an epoch  {100 * value / total:5.1f}%")


def time_kernels(repeats: int = 200) -> None:
    """One LSTM call, forward and backward (training) or forward only (forecasting), on lstm_cpu.c's kernel
    and on torch's, 1 thread: medians of 5 rounds of ``repeats`` calls."""
    from lstm_forecast.model import lstm_cpu

    torch.set_num_threads(1)

    def median_ms(call, n: int) -> float:
        call()
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(n):
                call()
            rounds.append((time.perf_counter() - started) / n)
        return 1e3 * statistics.median(rounds)

    print(f"one 2-layer LSTM call over {TIME_STEP} steps, 1 thread, median ms: C kernel / torch (oneDNN)")
    for batch, hidden, training in [(7, 8, True), (64, 8, True), (7, 16, True), (7, 32, True), (4096, 8, False)]:
        torch.manual_seed(0)
        lstm = nn.LSTM(hidden, hidden, 2)
        x = torch.randn(TIME_STEP, batch, hidden, requires_grad=training)
        weights = lstm._flat_weights
        zeros = torch.zeros(2, batch, hidden)

        def c_kernel():
            with torch.set_grad_enabled(training):
                out = lstm_cpu.stacked_lstm(x, weights, 2)
                if training:
                    out.sum().backward()

        def torch_lstm():
            with torch.set_grad_enabled(training):
                out = torch.lstm(x, (zeros, zeros.clone()), weights, True, 2, 0.0, training, False, False)[0]
                if training:
                    out.sum().backward()

        n = repeats if batch < 1000 else 5
        ours, theirs = median_ms(c_kernel, n), median_ms(torch_lstm, n)
        what = "training (forward + backward)" if training else "forecasting (forward)"
        print(f"  batch {batch:>4}, hidden {hidden:>2}, {what:<29} {ours:8.3f} / {theirs:8.3f}  "
              f"({theirs / ours:.2f}x)")


def time_builds(rounds: int = 5, repeats: int = 100) -> None:
    """A training step's LSTM call (forward + backward) at the default configuration (batch 32, 192 steps, 2 x 16
    units, 16 inputs) and the reference one (batch 7, 96 steps, 2 x 8), on lstm_cpu.c built for this CPU
    (-march=native) and for AVX2 (x86-64-v3, what an AVX2-only CPU runs), each build in its own process,
    the builds interleaved over ``rounds`` rounds: medians, and the ratio to native per round."""
    code = (
        "import statistics, sys, time, torch\n"
        "from torch import nn\n"
        "from lstm_forecast.model import lstm_cpu\n"
        "torch.set_num_threads(1)\n"
        "for steps, batch, hidden in ((192, 32, 16), (96, 7, 8)):\n"
        "    torch.manual_seed(0)\n"
        "    lstm = nn.LSTM(hidden, hidden, 2)\n"
        "    x = torch.randn(steps, batch, hidden, requires_grad=True)\n"
        "    call = lambda: lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2).sum().backward()\n"
        "    call()\n"
        "    started = time.perf_counter()\n"
        f"    for _ in range({repeats}):\n"
        "        call()\n"
        f"    print((time.perf_counter() - started) / {repeats} * 1e3)\n"
    )
    builds = {"native": "native", "AVX2 (x86-64-v3)": "x86-64-v3"}
    times: dict[str, list[list[float]]] = {name: [] for name in builds}
    for _ in range(rounds):
        for name, march in builds.items():
            env = {**os.environ, "PYTHONPATH": str(ROOT), "LSTM_FORECAST_MARCH": march}
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            times[name].append([float(v) for v in out.stdout.split()])
    print(f"lstm_cpu.c, one training call (forward + backward), 1 thread, median ms over {rounds} rounds:")
    for i, label in enumerate(("default: batch 32, 192 steps, 2 x 16", "reference: batch 7, 96 steps, 2 x 8")):
        native = [t[i] for t in times["native"]]
        avx2 = [t[i] for t in times["AVX2 (x86-64-v3)"]]
        ratios = [a / n for a, n in zip(avx2, native)]
        print(f"  {label:<38} native {statistics.median(native):7.3f}, AVX2 {statistics.median(avx2):7.3f}  "
              f"(AVX2 / native: median {statistics.median(ratios):.2f}, per round "
              f"{', '.join(f'{r:.2f}' for r in ratios)})")
