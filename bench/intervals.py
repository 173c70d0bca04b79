"""Interval benchmark: split against adaptive conformal coverage and width on simulated error streams, for
several step sizes gamma (the figures behind evaluate.interval_gamma in docs/metrics.md).

    .venv/bin/python bench/intervals.py             # 40 seeds, about a second
    .venv/bin/python bench/intervals.py --seeds 5

Each seed draws 423 validation and 423 test errors (the shipped spans' lengths): white noise scored one step
ahead, or AR(1) noise with coefficient 0.9 scored 12 steps ahead (multi-step errors are autocorrelated and
observed 11 origins late); with a shift, the test errors move by 3 standard deviations after 100 origins.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lstm_forecast.evaluation.intervals import adaptive_step, conformal_quantile  # noqa: E402

SPAN, SHIFT_AFTER, LEVEL = 423, 100, 0.9
GAMMAS = (0.005, 0.01, 0.02, 0.05)
SCENARIOS = ((1, 0.0), (12, 0.9))  # (step, AR coefficient of the errors)


def errors(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """AR(1) noise of unit variance: (n,)."""
    noise = rng.normal(size=n) * np.sqrt(1 - phi**2)
    out = np.empty(n)
    out[0] = rng.normal()
    for i in range(1, n):
        out[i] = phi * out[i - 1] + noise[i]
    return out


def scenario(step: int, phi: float, shift: float, seeds: int) -> dict[str, np.ndarray]:
    """Per method, over seeds: coverage, coverage after the shift point, mean width / split's width. (3,)"""
    rows: dict[str, list] = {"split": []} | {f"adaptive {g}": [] for g in GAMMAS}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        cal, test = np.abs(errors(rng, SPAN, phi)), errors(rng, SPAN, phi)
        test = np.abs(test + np.where(np.arange(SPAN) >= SHIFT_AFTER, shift, 0.0))
        split = conformal_quantile(cal[:, None], LEVEL)[0]
        halves = {"split": np.full(SPAN, split)} | {
            f"adaptive {g}": adaptive_step(cal, test, np.arange(SPAN), step, LEVEL, g)[0] for g in GAMMAS}
        for name, half in halves.items():
            inside = test <= half
            rows[name].append((inside.mean(), inside[SHIFT_AFTER:].mean(), half.mean() / split))
    return {name: np.mean(values, axis=0) for name, values in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args()
    for step, phi in SCENARIOS:
        for shift in (0.0, 3.0):
            print(f"h = {step}, AR {phi}, shift {shift:g}: coverage, after origin {SHIFT_AFTER}, width / split")
            for name, (coverage, after, width) in scenario(step, phi, shift, args.seeds).items():
                print(f"  {name:15s} {coverage:.3f}  {after:.3f}  {width:.2f}")


if __name__ == "__main__":
    main()
