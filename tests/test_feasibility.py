"""Settings the data cannot hold are found by the window stage, before any training: each is one line naming
the key and the largest value that would hold; ``auto`` values adapt to a short series and say so."""
import logging

import pytest

from pipeline.window import main
from tests.helpers import write_params
from tests.test_window import ARGV, write_stats

# A 60-month series split 0.7 / 0.15 / 0.15: 42 training values, 9 validation, 9 test.
MONTHS60 = {"train": (0, 42), "val": (42, 51), "test": (51, 60)}


@pytest.fixture
def months60(in_tmp):
    write_stats(in_tmp, MONTHS60, 60)  # monthly (MS): season auto is 12
    return in_tmp


def run_window(folder, params: dict) -> int:
    """The window stage with ``params`` over params.yaml's interval method (adaptive)."""
    evaluate = {"interval_method": "adaptive"} | params.get("evaluate", {})
    write_params(folder / "params.yaml", {"window": {"time_step": "auto"}} | params | {"evaluate": evaluate})
    return main(ARGV)


def test_the_defaults_adapt_to_a_60_month_series_and_say_so(months60, caplog):
    caplog.set_level(logging.INFO)
    assert run_window(months60, {}) == 0
    # Three seasons of 12 would be 36: a third of the 42 training values is what decides, and the line says so.
    assert "time_step auto: 14 (three seasons of 12 would be 36; capped at a third of the 42 training values)" \
        in caplog.text
    # 28 training windows today; crossval's first fold trains on 24 values with a time_step of 8: 16 windows.
    assert ("batch_size auto: at most 32, capped at the training windows: 28 today, 16 crossval fold 1 of 3, "
            "22 crossval fold 2 of 3") in caplog.text
    assert "forecast.steps auto: 9 (at most 24, capped at the test span's 9 values)" in caplog.text


@pytest.mark.parametrize("params, message", [
    ({"train": {"batch_size": 32}},
     "train.batch_size=32 is larger than the 16 training windows (crossval fold 1 of 3); use at most 16, or auto"),
    ({"train": {"batch_size": 20}, "crossval": {"folds": 0}}, None),
    ({"forecast": {"steps": 24}}, "forecast.steps=24 is longer than the test span (9 values), so the bands of the last "
                                  "steps could not be checked on test forecasts; use forecast.steps <= 9, or auto"),
    ({"forecast": {"steps": 6}, "train": {"strategy": "direct"}, "window": {"time_step": 8, "horizon": 2},
      "evaluate": {"interval": 0.8}},
     "forecast.steps=6 is longer than window.horizon=2, all a direct model"),
    # The first scored origin is 42 today, but 24 in crossval's first fold.
    ({"evaluate": {"season": 30}}, "evaluate.season=30 reaches before the start of the series: the seasonal naive "
                                   "forecast reads one season back, and the first scored origin is 24 (crossval fold "
                                   "1 of 3); use evaluate.season <= 24"),
    ({"evaluate": {"interval_window": 30}}, "evaluate.interval_window=30 reaches before the start of the series: the "
                                            "interval's volatility reads interval_window + 1 values back, and the "
                                            "first scored origin is 24 (crossval fold 1 of 3); use "
                                            "evaluate.interval_window <= 23"),
    ({"evaluate": {"season": 24}}, None),
])
def test_a_setting_the_series_cannot_hold_is_one_line_naming_the_largest_that_would(months60, capsys, params,
                                                                                   message):
    window = {"window": {"time_step": "auto"} | params.pop("window", {})}
    assert run_window(months60, params | window) == (0 if message is None else 2)
    err = capsys.readouterr().err
    if message is None:
        assert err == ""
    else:
        assert err.startswith(f"error: {message}") and err.count("\n") == 1
        assert not (months60 / "data" / "windows.json").exists()


def test_too_few_calibration_forecasts_for_a_direct_model_advise_the_stride_only_when_it_is_above_1(months60, capsys):
    # A direct model of 6 steps: 9 - 6 + 1 = 4 validation origins, and a 90% interval needs 9.
    direct = {"window": {"time_step": 8, "horizon": 6}, "train": {"strategy": "direct"}, "crossval": {"folds": 0},
              "forecast": {"steps": 6}}
    assert run_window(months60, direct) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: evaluate.interval=0.9 needs at least 9 calibration forecasts, the validation span "
                          "gives 4 (window.horizon 6, evaluate.stride 1); use evaluate.interval <= 0.8, a "
                          "window.horizon below 6, or a longer normalize.val")
    assert "stride (now" not in err
    assert run_window(months60, direct | {"evaluate": {"stride": 2}}) == 2
    assert "; lower evaluate.stride (now 2) or use evaluate.interval <= 0.66" in capsys.readouterr().err
    assert run_window(months60, direct | {"evaluate": {"interval": 0.8}}) == 0
