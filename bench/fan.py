"""Which bands the forecast stage should draw, chosen on validation spans only: per panel series, the LSTM
(the Forecaster at params.yaml's settings, the panel's season) forecasts S steps from every validation
origin; bands calibrated on the first half of validation are scored on its second half (coverage and the
interval score, MSIS, at 80% and 95%), for split and adaptive conformal, each step on its own (today's bands)
or made a fan (nested across levels, never narrowing over the steps: lstm_forecast.future.bands' `fan`
idea, applied origin by origin as the honest check applies it).

    .venv/bin/python bench/fan.py                    # the twelve series (about 3 minutes on 2 cores)
    .venv/bin/python bench/fan.py --series a10 h02   # some of them

The test spans are not read: a value at or after the test start is never scored or calibrated on.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.panel_data import ingest, ingest_settings  # noqa: E402
from lstm_forecast.api import Forecaster  # noqa: E402
from lstm_forecast.errors import ArgumentError  # noqa: E402
from lstm_forecast.evaluation.intervals import volatility_floor  # noqa: E402
from lstm_forecast.evaluation.metrics import naive_scale  # noqa: E402
from lstm_forecast.future.bands import Calibration, Inputs, calibrate, series_times  # noqa: E402

LEVELS = (0.8, 0.95)
WAYS = [(method, shape) for method in ("adaptive", "split") for shape in ("steps", "fan")]


def validation_calibration(name: str, entry: dict, panel: Path, most_steps: int) -> tuple[Calibration, float, float]:
    """The series' validation-only Calibration (its test start moved to the middle of validation), MASE's scale,
    and the adaptive method's gamma."""
    settings, _ = ingest_settings(panel / entry["file"], entry.get("frequency"))
    with tempfile.TemporaryDirectory() as work, contextlib.redirect_stderr(io.StringIO()):
        frame, freq = ingest(panel / entry["file"], settings, Path(work))
    # Rows taken as consecutive steps where the panel's frequency is no calendar (as ingest took them).
    ds = frame["time"] if "time" in frame and freq is not None else np.arange(len(frame))
    df = pd.DataFrame({"unique_id": name, "ds": ds, "y": frame["value"]})
    forecaster = Forecaster(evaluate={"season": entry.get("season", 1)})
    fitted = forecaster.fit(df)._fitted
    s, norm, index = forecaster.settings, fitted.norm, fitted.index
    values = fitted.series["value"].to_numpy(dtype=np.float64)
    times = series_times(fitted.series)
    scale = naive_scale(values[slice(*norm.splits["train"])])
    test_lo = norm.splits["test"][0]
    steps = max(1, min(most_steps, (test_lo - index.origins["val"][0]) // 4))
    inputs = Inputs.build(values, times, norm, index.calendar, fitted.info.freq if times is not None else None, steps)
    cal = calibrate(fitted.result.model, fitted.meta.strategy, inputs, norm, index.time_step, index.scale_windows,
                    index.origins["val"][0], steps, s.evaluate.interval_window, volatility_floor(scale))
    keep = cal.origins < test_lo
    scores = cal.scores[keep].copy()
    origins = cal.origins[keep]
    scores[origins[:, None] + np.arange(steps) >= test_lo] = np.nan  # values in the test span: never read
    middle = int((origins[0] + test_lo) // 2)
    return Calibration(origins, scores, middle, cal.volatility[keep]), scale, s.evaluate.interval_gamma


def checked(cal: Calibration, method: str, shape: str, gamma: float, scale: float) -> dict[float, tuple[float, float]]:
    """Per level, the mean over steps of the coverage and MSIS on the second half, bands calibrated on the
    first (``shape`` 'fan': widened to every lower level's and every earlier step's, origin by origin); empty
    where the first half holds too few forecasts for a level."""
    for levels in (LEVELS, LEVELS[:1]):
        try:
            return _checked(cal, method, shape, gamma, scale, levels)
        except ArgumentError:
            continue
    return {}


def _checked(cal: Calibration, method: str, shape: str, gamma: float, scale: float,
             levels: tuple[float, ...]) -> dict[float, tuple[float, float]]:
    half = {level: cal.test_half_widths(level, method, gamma) for level in levels}
    if shape == "fan":
        below = None
        for level in sorted(half):
            width = half[level] if below is None else np.maximum(half[level], below)
            half[level] = below = np.fmax.accumulate(width, axis=-1)
    checks = {level: cal.test_check(level, method, gamma, scale, half[level]) for level in levels}
    return {level: (float(np.mean(c["coverage"])), float(np.mean(c["msis"]))) for level, c in checks.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", type=Path, default=ROOT.parent / "shared" / "data" / "panel")
    parser.add_argument("--series", nargs="+")
    parser.add_argument("--steps", type=int, default=24, help="the most steps ahead (default 24, the stage's)")
    args = parser.parse_args(argv)
    panel = json.loads((args.panel / "panel.json").read_text())
    names = args.series or list(panel)
    rows = {}
    for name in names:
        cal, scale, gamma = validation_calibration(name, panel[name], args.panel, args.steps)
        rows[name] = {way: checked(cal, *way, gamma, scale) for way in WAYS}
        if not all(rows[name][way] for way in WAYS):
            print(f"{name:<14} left out: validation's first half holds too few forecasts for an {LEVELS[0]:.0%} band")
            del rows[name]
            continue
        print(f"{name:<14} S={cal.scores.shape[1]:<3}" + "  ".join(
            f"{m[:5]}/{s}: " + " ".join(f"{rows[name][(m, s)][lv][0]:.3f}|{rows[name][(m, s)][lv][1]:.2f}"
                                        for lv in rows[name][(m, s)]) for m, s in WAYS), flush=True)
    base = ("adaptive", "steps")
    print(f"\nvalidation second halves, {len(rows)} series: per way and level, mean coverage (lowest) and the "
          f"geometric mean of MSIS over adaptive step by step's (today's bands), with the two-sided Wilcoxon "
          f"signed-rank test's p-value on the series' log ratios")
    for way in WAYS:
        parts = []
        for level in LEVELS:
            held = [n for n in rows if level in rows[n][way]]
            cover = [rows[n][way][level][0] for n in held]
            ratio = np.exp(np.mean([np.log(rows[n][way][level][1] / rows[n][base][level][1]) for n in held]))
            logs = [np.log(rows[n][way][level][1] / rows[n][base][level][1]) for n in held]
            p = wilcoxon(logs).pvalue if way != base and any(logs) else float("nan")
            parts.append(f"{level:.2f} ({len(held)} series): coverage {statistics.mean(cover):.3f} (lowest "
                         f"{min(cover):.3f}), MSIS x{ratio:.3f} (Wilcoxon p {p:.3f})")
        print(f"  {way[0]:<9}{way[1]:<6} " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
