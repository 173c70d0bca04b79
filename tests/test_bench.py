"""The benchmark script still runs against the code it measures (its figures live in docs/performance.md;
nothing here times anything)."""
import importlib.util
import re

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
