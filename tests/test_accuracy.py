"""bench/accuracy.py: the summary over series on hand-made results, its settings per series, and one run on a
tiny made-up panel (the benchmark's figures live in docs/performance.md; nothing here times anything)."""
import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bench import accuracy
from bench.panel_summary import (best_baseline, lstm_ratio, lstm_wins, significantly_worse, summarise, summary_lines,
                                 table)
from lstm_forecast.errors import UserError
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.normalize import NormalizeParams
from lstm_forecast.config.window import WindowParams
from tests.helpers import ROOT


def results(mase: dict, p: dict | None = None, coverage: float | None = None, split: str = "test") -> dict:
    out = {f"{split}_{model}_mase": value for model, value in mase.items()}
    out |= {f"test_lstm_vs_{model}_dm_p": value for model, value in (p or {}).items()}
    return out | ({"test_lstm_coverage": coverage} if coverage is not None else {})


# LSTM best of all; significantly better than persistence (p 0.01), which is no loss.
WINNER = results({"lstm": 0.5, "persistence": 1.0, "seasonal_naive": 2.0, "linear": 0.8, "auto_ets": 0.6,
                  "auto_arima": 0.7, "auto_theta": 0.9},
                 {"persistence": 0.01, "seasonal_naive": 0.001, "linear": 0.3, "auto_ets": 0.2, "auto_arima": 0.4,
                  "auto_theta": 0.5}, 0.9)
# No statistical model ran; significantly worse than persistence, not than the best baseline (linear, p 0.2).
NO_STATISTICAL = results({"lstm": 2.0, "persistence": 1.0, "seasonal_naive": 4.0, "linear": 0.5},
                         {"persistence": 0.01, "seasonal_naive": 0.001, "linear": 0.2}, 0.7)
# Significantly worse than persistence (p 0.04) and than the best baseline (linear, p 0.001).
LOSER = results({"lstm": 1.5, "persistence": 1.2, "seasonal_naive": 3.0, "linear": 1.0, "auto_ets": 1.25,
                 "auto_arima": 1.1, "auto_theta": 1.3},
                {"persistence": 0.04, "seasonal_naive": 0.3, "linear": 0.001, "auto_ets": 0.5, "auto_arima": 0.06,
                 "auto_theta": 0.7}, 0.95)
PANEL = {"winner": WINNER, "no_statistical": NO_STATISTICAL, "loser": LOSER}


def test_the_best_baseline_is_the_lowest_mase_but_the_lstm():
    assert [best_baseline(r, "test") for r in PANEL.values()] == ["auto_ets", "linear", "linear"]


def test_ratios_against_the_best_of_a_group_that_ran():
    assert lstm_ratio(WINNER, "test", ("auto_ets", "auto_arima", "auto_theta")) == pytest.approx(0.5 / 0.6)
    assert lstm_ratio(NO_STATISTICAL, "test", ("auto_ets", "auto_arima", "auto_theta")) is None
    assert lstm_ratio(LOSER, "test", ("seasonal_naive", "linear")) == pytest.approx(1.5)
    exact = results({"lstm": 1.0, "persistence": 0.0})  # persistence exact: no ratio
    assert lstm_ratio(exact, "test", ("persistence",)) is None


def test_a_tie_is_no_win():
    assert lstm_wins(WINNER, "test")
    assert not lstm_wins(results({"lstm": 0.6, "persistence": 0.6, "linear": 0.9}), "test")


def test_significantly_worse_needs_a_small_p_and_a_higher_mase():
    assert not significantly_worse(WINNER, "persistence")  # p 0.01 but the LSTM is better
    assert significantly_worse(NO_STATISTICAL, "persistence")
    assert not significantly_worse(NO_STATISTICAL, "linear")  # worse, p 0.2
    assert significantly_worse(LOSER, "linear")
    assert significantly_worse(results({"lstm": 1.0}, split="val"), "persistence") is None  # no test on val


def test_summary_over_series():
    s = summarise(PANEL, "test")
    assert s["vs_persistence"] == pytest.approx((0.5 * 2.0 * 1.25) ** (1 / 3))
    assert s["vs_statistical"] == pytest.approx(math.sqrt(0.5 / 0.6 * 1.5 / 1.1))
    assert (s["vs_persistence_n"], s["vs_statistical_n"], s["vs_simple_n"]) == (3, 2, 3)
    assert s["vs_simple"] == pytest.approx((0.625 * 4.0 * 1.5) ** (1 / 3))
    assert (s["wins"], s["worse_than_persistence"], s["worse_than_best"]) == (1, 2, 1)
    assert s["coverage_mean"] == pytest.approx(0.85)
    assert s["coverage_min"] == 0.7


def test_summary_lines():
    s = summarise({"winner": WINNER, "loser": LOSER}, "test")
    assert summary_lines(s, 1, 0.9) == [
        "LSTM MASE / persistence MASE, geometric mean: 0.791 (2 series)",  # sqrt(0.5 * 1.25)
        "LSTM MASE / best statistical (auto_ets, auto_arima, auto_theta), geometric mean: 1.066 (2 series)",
        "LSTM MASE / best of seasonal_naive and linear, geometric mean: 0.968 (2 series)",  # sqrt(0.625 * 1.5)
        "LSTM wins (lowest MASE of all models): 1 of 2",
        "LSTM significantly worse (DM p < 0.05, higher MASE): than persistence 1 of 2, than the best baseline 1 of 2",
        "LSTM 90% interval coverage: mean 0.925, min 0.900",
        "left out of the summary: 1 series (errors above)",
    ]


def test_validation_scores_have_no_test_or_coverage():
    val = {"a": results({"lstm": 0.5, "persistence": 1.0, "linear": 0.25}, split="val")}
    s = summarise(val, "val")
    assert (s["vs_persistence"], s["vs_simple"], s["wins"]) == (pytest.approx(0.5), pytest.approx(2.0), 0)
    lines = summary_lines(s, 0, 0.9)
    assert lines[4] == "LSTM significantly worse (DM p < 0.05, higher MASE): - (a test of test scores only)"
    assert lines[5] == "LSTM 90% interval coverage: mean -, min -"


def test_table_rows():
    runs = {"winner": {"results": WINNER, "seconds": 12.34}, "short": {"error": "too short", "seconds": 0.5},
            "val": {"results": results({"lstm": 0.5, "persistence": 1.0}, split="val"), "seconds": 1.0}}
    lines = table(runs, "test")
    assert lines[0] == ("test MASE        lstm persist  snaive  linear     ets   arima   theta  best             "
                        "DM p    cov      s")
    assert lines[1] == ("winner          0.500   1.000   2.000   0.800   0.600   0.700   0.900  auto_ets        "
                        "0.200  0.900   12.3")
    assert lines[2] == "short         error: too short"
    assert table(runs, "val")[3] == ("val             0.500   1.000       -       -       -       -       -  "
                                     "persistence         -      -    1.0")


def test_stride_keeps_each_scored_split_to_the_most_origins():
    # 27,716 rows: test 23,558 to 27,716 = 4,158 origins; 4,158 / 300 = 13.9.
    normalize, window = NormalizeParams(), WindowParams(time_step=96)
    # A season of steps, as run_series passes it once resolved.
    one, twenty = EvaluateParams(season=132, stride=1), EvaluateParams(season=132, stride=20)
    assert accuracy.stride_for(27716, normalize, window, one, 300) == 14
    assert accuracy.stride_for(27716, normalize, window, twenty, 300) == 20  # a larger stride asked for stays
    assert accuracy.stride_for(27716, normalize, window, one, 0) == 1  # no limit
    assert accuracy.stride_for(204, normalize, window, one, 300) == 1
    # time_step: auto is resolved first: validation starts its origins at the end of training either way.
    assert accuracy.stride_for(27716, normalize, WindowParams(time_step="auto"), one, 300) == 14


def test_overrides_are_checked_as_params_yaml_is():
    assert accuracy.parse_overrides(["train.epochs=3", "evaluate.baselines=[persistence]", "train.epochs=5"]) == {
        "normalize": {}, "window": {}, "train": {"epochs": 5}, "evaluate": {"baselines": ["persistence"]}}
    with pytest.raises(UserError, match=r"-S 'trian.epochs=3': expected section.key=value"):
        accuracy.parse_overrides(["trian.epochs=3"])
    with pytest.raises(UserError, match=r"unknown param 'evaluate.seasons'; did you mean 'evaluate.season'"):
        accuracy.override(EvaluateParams(), "evaluate", {"seasons": 4})
    with pytest.raises(UserError, match=r"evaluate.stride='x' should be a whole number"):
        accuracy.override(EvaluateParams(), "evaluate", {"stride": "x"})
    both = accuracy.override(NormalizeParams(), "normalize", {"train": 0.8, "val": 0.1, "test": 0.1})
    assert (both.train, both.val, both.test) == (0.8, 0.1, 0.1)
    for section, cls in accuracy.SECTIONS.items():  # nothing changed: nothing changes
        assert accuracy.override(cls(), section, {}) == cls()


def test_ingest_settings_from_the_header_and_the_panels_frequency(tmp_path):
    (tmp_path / "s.csv").write_text("step,value\n0,1.0\n")
    assert accuracy.ingest_settings(tmp_path / "s.csv", None) == (
        {"path": str(tmp_path / "s.csv"), "sheet": None, "column": "value", "time_column": "step", "freq": "auto"}, "")
    (tmp_path / "t.csv").write_text("time,value\n2003-03-03 07:00,1.0\n")
    settings, why = accuracy.ingest_settings(tmp_path / "t.csv", "5min, business hours only")
    assert (settings["time_column"], settings["freq"]) == ("time", "none")
    assert why == "panel.json's frequency '5min, business hours only' is no calendar: rows taken as consecutive steps"
    assert accuracy.ingest_settings(tmp_path / "t.csv", "MS")[0]["freq"] == "auto"


def made_up_panel(folder):
    """Three short series (monthly; five-minute stamps with a gap each night; plain steps) and one too short."""
    rng = np.random.default_rng(0)
    t = np.arange(120)
    wave = (50 + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 120)).round(3)
    pd.DataFrame({"time": pd.date_range("2000-01-01", periods=120, freq="MS").strftime("%Y-%m-%d"),
                  "value": wave}).to_csv(folder / "monthly.csv", index=False)
    days = [pd.date_range(f"2003-03-0{d} 09:00", periods=40, freq="5min") for d in (3, 4, 5)]
    pd.DataFrame({"time": np.concatenate(days).astype("datetime64[s]").astype(str), "value": wave}).to_csv(
        folder / "calls.csv", index=False)
    pd.DataFrame({"step": t, "value": wave[::-1]}).to_csv(folder / "steps.csv", index=False)
    pd.DataFrame({"step": np.arange(15), "value": wave[:15]}).to_csv(folder / "short.csv", index=False)
    panel = {"monthly": {"file": "monthly.csv", "rows": 120, "frequency": "MS", "season": 12},
             "calls": {"file": "calls.csv", "rows": 120, "frequency": "5min, business hours only", "season": 4},
             "steps": {"file": "steps.csv", "rows": 120, "frequency": None, "season": 1},
             "short": {"file": "short.csv", "rows": 15, "frequency": None, "season": 1}}
    (folder / "panel.json").write_text(json.dumps(panel))


def test_the_benchmark_runs_on_a_made_up_panel(tmp_path):
    made_up_panel(tmp_path)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "accuracy.py"), "--panel", str(tmp_path), "--jobs", "1",
         "--json", str(tmp_path / "out.json"), "--max-origins", "10", "-S", "window.time_step=12",
         "-S", "train.epochs=2", "-S", "evaluate.baselines=[persistence, seasonal_naive, linear, auto_ets]"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"^calls +120 rows, freq none \(panel.json's frequency '5min, business hours only' is no "
                     r"calendar: rows taken as consecutive steps\), season 4, stride 2 \(9 val / 9 test origins\)",
                     out, re.M)
    assert re.search(r"^monthly +120 rows, freq auto, season 12, stride 2", out, re.M)
    assert re.search(r"^short +error: window.time_step=12: leaves no whole window in the train", out, re.M)
    for name in ("monthly", "calls", "steps"):  # every model that ran, the best, DM p and coverage
        assert re.search(rf"^{name} +( +\d+\.\d{{3}}){{5}} +- +- +\w+ +[01]\.\d{{3}} +[01]\.\d{{3}} +\d+\.\d$", out,
                         re.M), out
    summary = out[out.index("LSTM MASE / persistence"):].splitlines()
    assert re.fullmatch(r"LSTM MASE / persistence MASE, geometric mean: \d+\.\d{3} \(3 series\)", summary[0])
    assert re.fullmatch(r"LSTM MASE / best statistical \(.*\), geometric mean: \d+\.\d{3} \(3 series\)", summary[1])
    assert re.fullmatch(r"LSTM wins \(lowest MASE of all models\): [0-3] of 3", summary[3])
    assert re.fullmatch(r"LSTM significantly worse .*: than persistence [0-3] of 3, than the best baseline [0-3] of 3",
                        summary[4])
    assert summary[6] == "left out of the summary: 1 series (errors above)"
    assert re.fullmatch(r"time: \d+\.\d s per series \(mean\), \d+\.\d s in total with 1 job\(s\)", summary[7])
    record = json.loads((tmp_path / "out.json").read_text())
    assert record["overrides"][0] == "window.time_step=12"
    runs = record["series"]
    assert list(runs) == sorted(runs) and runs["short"]["error"].startswith("window.time_step=12")
    assert runs["steps"]["settings"]["evaluate"]["season"] == 1
    assert runs["monthly"]["results"]["test_points"] == 9 and "val_lstm_mase" in runs["monthly"]["results"]
