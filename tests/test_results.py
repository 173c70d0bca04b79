"""The committed results meet the promises made for them. (`make check-committed` proves that the committed
numbers are what the committed code, params and data produce; these tests say what those numbers must be.)"""
import json

import pytest

from tests.helpers import ROOT

RESULTS = json.loads((ROOT / "metrics" / "evaluate.json").read_text())


def test_interval_covers_about_ninety_percent_of_the_test_span():
    assert 0.85 <= RESULTS["test_lstm_coverage"] <= 0.95


@pytest.mark.parametrize("model", ["lstm", "persistence", "seasonal_naive", "linear"])
def test_every_model_is_scored_on_the_same_test_points(model):
    assert RESULTS["test_points"] == 423  # every test month is an origin at the default stride 1
    # MASE is MAE over the one training-span scale shared by all models.
    assert RESULTS[f"test_{model}_mase"] == pytest.approx(RESULTS[f"test_{model}_mae"] / RESULTS["mase_scale"])
    assert RESULTS[f"test_{model}_rmse"] >= RESULTS[f"test_{model}_mae"] > 0
