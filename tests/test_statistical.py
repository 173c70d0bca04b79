"""AutoETS, AutoARIMA and AutoTheta as baselines: fitted once on the training span, applied at every origin
without refitting, never reading past an origin, and scored like every other model."""
import json
import logging

import numpy as np
import pytest
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

from lstm_forecast.evaluation.statistical import STATISTICAL, fit_statistical, statistical_forecast, usable_season
from tests.helpers import SMALL_PARAMS, run_stages, sine_series, write_params

SERIES = sine_series()["level"].to_numpy(dtype=np.float64)  # 240 monthly values, period 24
LIBRARY = {"auto_ets": AutoETS, "auto_arima": AutoARIMA, "auto_theta": AutoTheta}


@pytest.mark.parametrize("name", STATISTICAL)
def test_the_first_forecast_is_statsforecasts_own(name):
    # From the first origin (the end of the training span) forward() reads exactly the training span: the
    # forecast must be what statsforecast's own forecast() gives, fitted on the same span.
    train = SERIES[:144]
    ours = statistical_forecast(fit_statistical(name, train, 12), SERIES, np.array([144]), 3)[0]
    theirs = LIBRARY[name](season_length=12).forecast(y=train, h=3)["mean"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize("name", STATISTICAL)
def test_no_forecast_reads_at_or_after_its_origin(name):
    model = fit_statistical(name, SERIES[:144], 12)
    origins = np.arange(150, 200, 7)
    before = statistical_forecast(model, SERIES, origins, 4)
    perturbed = SERIES.copy()
    perturbed[origins[3]:] += 500.0  # from the fourth origin on
    after = statistical_forecast(model, perturbed, origins, 4)
    assert np.array_equal(after[:4], before[:4])  # origins up to and including it: bitwise unchanged
    assert not np.array_equal(after[4:], before[4:])  # later origins do see it: the test can fail


def test_the_season_each_model_can_use():
    assert usable_season("auto_ets", 12, 144) == (12, "")
    assert usable_season("auto_ets", 132, 1974) == (1, "the season 132 is longer than the 24 it allows")
    assert usable_season("auto_arima", 52, 950) == (1, "the season 52 is longer than the 24 it allows")
    assert usable_season("auto_theta", 132, 1974) == (132, "")
    assert usable_season("auto_theta", 100, 150) == (
        1, "the training span (150 values) holds fewer than two seasons of 100")
    assert usable_season("auto_arima", 1, 100) == (1, "")


def test_evaluate_scores_all_seven_models_on_the_same_origins(tiny_project, caplog):
    # Every baseline: evaluate.baselines left at its default.
    params = {**SMALL_PARAMS, "evaluate": {"season": 24, "interval_method": "split"}, "crossval": {"folds": 0}}
    write_params(tiny_project / "params.yaml", params)
    with caplog.at_level(logging.INFO):
        run_stages()
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    models = ("lstm", "persistence", "seasonal_naive", "linear", "auto_ets", "auto_arima", "auto_theta")
    for model in models:
        assert results[f"test_{model}_mase"] == pytest.approx(results[f"test_{model}_mae"] / results["mase_scale"])
    assert results["test_auto_ets_mase"] < results["test_persistence_mase"]  # a sine with noise: ETS sees the season
    for model in models[1:]:
        assert 0 <= results[f"test_lstm_vs_{model}_dm_p"] <= 1
    assert "auto_ets runs without a season" not in caplog.text  # 24 fits ETS and 144 values hold two seasons
    with open(tiny_project / "metrics" / "horizon.csv") as f:
        assert f.readline().strip() == "h," + ",".join(models)


def test_a_training_span_too_short_for_a_model_names_it():
    from lstm_forecast.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"^baselines='auto_ets': needs at least 8 training values, the training "
                                            r"span has 5; leave it out or give the series more rows$"):
        fit_statistical("auto_ets", SERIES[:5], 1)
    assert fit_statistical("auto_theta", SERIES[:5], 1) is not None


def test_a_season_a_model_cannot_use_is_logged(caplog):
    with caplog.at_level(logging.INFO):
        fit_statistical("auto_ets", SERIES[:144], 52)
    assert "auto_ets runs without a season: the season 52 is longer than the 24 it allows" in caplog.text
