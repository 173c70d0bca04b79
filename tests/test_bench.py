"""The benchmark scripts still run against the code they measure (their figures live in docs/performance.md
and docs/metrics.md; nothing here times anything)."""
import importlib.util
import re

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
