"""The benchmark scripts still run against the code they measure (their figures live in docs/performance.md
and docs/metrics.md; nothing here times anything)."""
import importlib.util
import re

import numpy as np
import pytest

from ci.compare import DROP
from tests.helpers import PACKAGES, ROOT

spec = importlib.util.spec_from_file_location("speed", ROOT / "bench" / "speed.py")
speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(speed)


def test_the_backtest_benchmark_runs():
    assert speed.time_backtest(origins=20, horizon=3, rounds=1) > 0


def test_the_memory_benchmark_runs_the_window_and_train_stages(in_tmp):
    window, train = speed.peak_rss_window_train(points=3000, steps=2)
    assert window > 0 and train > 0


def test_compare_drops_the_hash_column_of_every_code_folder():
    # `dvc exp show` lists every dependency's hash; a new code folder missing from DROP brings them back.
    dropped = set(re.split(r"\|", DROP))
    assert {f"{package}/" for package in PACKAGES if package != "ci"} <= dropped


def test_the_interval_benchmark_runs():
    spec = importlib.util.spec_from_file_location("intervals_bench", ROOT / "bench" / "intervals.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.scenario(1, 0.0, 3.0, seeds=1)
    assert rows["split"][2] == pytest.approx(1.0) and rows["split"][1] < rows["adaptive 0.02"][1]


def test_the_fan_benchmark_scores_bands_as_a_fan_or_step_by_step():
    spec = importlib.util.spec_from_file_location("fan_bench", ROOT / "bench" / "fan.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from lstm_forecast.future.bands import Calibration

    rng = np.random.default_rng(0)
    n, steps = 600, 6
    scores = np.abs(np.cumsum(rng.normal(size=(n, steps)), axis=1))  # step h's error: h shocks summed
    for h in range(1, steps):
        scores[n - h:, h] = np.nan
    cal = Calibration(np.arange(n), scores, n // 2, np.ones(n))
    for method in ("split", "adaptive"):
        steps_only, fan = (bench.checked(cal, method, shape, 0.02, 1.0) for shape in ("steps", "fan"))
        assert set(fan) == {0.8, 0.95}
        for level in (0.8, 0.95):
            assert fan[level][0] >= steps_only[level][0]  # the fan only widens: coverage never falls
            assert abs(steps_only[level][0] - level) < 0.06
    # Adaptive half-widths move from origin to origin: the fan keeps each origin's widest step so far.
    assert bench.checked(cal, "adaptive", "fan", 0.02, 1.0)[0.8][0] > bench.checked(cal, "adaptive", "steps", 0.02,
                                                                                    1.0)[0.8][0]
