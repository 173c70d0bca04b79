import numpy as np
import pytest

from lstm_forecast.evaluation.backtest import future_values
from lstm_forecast.evaluation.baselines import persistence
from lstm_forecast.evaluation.intervals import adaptive_half_widths, adaptive_step, local_scale, ranked_score
from lstm_forecast.evaluation import metrics
from lstm_forecast.evaluation.scoring import score_splits

CAL = np.arange(1.0, 10.0)  # 1 .. 9


def test_alpha_update_by_hand():
    # level 0.8 (alpha 0.2), gamma 0.1, one-step forecasts from origins 0..4: each is observed at the next origin.
    scores = np.array([10.0, 0.5, 0.5, 10.0, 0.5])
    half, alphas = adaptive_step(CAL, scores, np.arange(5), 1, 0.8, 0.1)
    # origin 0: nothing observed, alpha 0.2; 9 scores, rank ceil(10 * 0.8) = 8 -> 8.
    # origin 1: 10 > 8 missed: alpha 0.2 + 0.1 (0.2 - 1) = 0.12; 10 scores, rank ceil(11 * 0.88) = 10 -> 10.
    # origin 2: 0.5 covered: alpha 0.12 + 0.1 * 0.2 = 0.14; 11 scores, rank ceil(12 * 0.86) = 11 -> 10.
    # origin 3: covered: alpha 0.16; 12 scores (0.5, 0.5, 1 .. 10), rank ceil(13 * 0.84) = 11 -> 9.
    # origin 4: 10 > 9 missed: alpha 0.08; 13 scores, rank ceil(14 * 0.92) = 13 -> 10.
    assert alphas.tolist() == pytest.approx([0.2, 0.12, 0.14, 0.16, 0.08], abs=1e-12)
    assert half.tolist() == [8.0, 10.0, 10.0, 9.0, 10.0]


def test_gamma_zero_keeps_alpha_and_only_grows_the_score_set():
    half, alphas = adaptive_step(CAL, np.array([10.0, 10.0, 10.0]), np.arange(3), 1, 0.8, 0.0)
    assert alphas.tolist() == pytest.approx([0.2, 0.2, 0.2], abs=1e-15)
    assert half.tolist() == [8.0, 9.0, 10.0]  # rank ceil(11 * 0.8) = 9 of 10, ceil(12 * 0.8) = 10 of 11


def test_alpha_at_or_below_zero_takes_the_largest_score_and_at_or_above_one_zero():
    cal = np.array([1.0, 2.0, 3.0])
    # Every forecast missed: alpha 0.5, 0.25, 0, -0.25; from alpha 0 the rank passes the last score.
    half, alphas = adaptive_step(cal, np.array([10.0, 20.0, 30.0, 40.0]), np.arange(4), 1, 0.5, 0.5)
    assert alphas.tolist() == [0.5, 0.25, 0.0, -0.25]
    assert half.tolist() == [2.0, 10.0, 20.0, 30.0]  # finite: the largest score observed so far
    # Every forecast covered: alpha 0.5, 0.75, 1, 1.25; from alpha 1 the interval is empty.
    half, alphas = adaptive_step(cal, np.zeros(4), np.arange(4), 1, 0.5, 0.5)
    assert alphas.tolist() == [0.5, 0.75, 1.0, 1.25]
    assert half.tolist() == [2.0, 1.0, 0.0, 0.0]
    assert [ranked_score([1.0, 2.0, 3.0], level) for level in (-0.1, 0.0, 0.5, 0.75, 0.95, 1.2)] == [
        0.0, 0.0, 2.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize("stride, changed, first_seen", [(1, 5, 8), (2, 2, 8), (3, 1, 6)])
def test_a_forecast_joins_the_calibration_only_after_its_value_is_observed(stride, changed, first_seen):
    # Step 3 from origin t is the value at t + 2, observed from origin t + 3 on; origins are `stride` apart.
    origins = np.arange(0, 30, stride)
    scores = np.full((len(origins), 3), 0.5)
    before = adaptive_half_widths(np.column_stack([CAL] * 3), scores, origins, 0.9, 0.02)
    scores[changed, 2] = 100.0  # the step-3 forecast from origin origins[changed] misses by far
    after = adaptive_half_widths(np.column_stack([CAL] * 3), scores, origins, 0.9, 0.02)
    # Up to origin first_seen - 1 (which reads the values before it) nothing changes, step 3 included.
    unchanged = origins < first_seen
    np.testing.assert_array_equal(after[unchanged], before[unchanged])
    assert after[origins == first_seen, 2] == [100.0]  # the miss lowered alpha: the rank reaches the new score
    np.testing.assert_array_equal(after[:, :2], before[:, :2])  # one alpha and score set per step


def test_scoring_reads_nothing_after_an_origin():
    rng = np.random.default_rng(3)
    values = rng.normal(size=300).cumsum()
    forecasts = rng.normal(size=(300, 3))

    def runs(values):
        out = {}
        for split, origins in (("val", np.arange(40, 140, 2)), ("test", np.arange(140, 296, 2))):
            out[split] = {"origins": origins, "actual": future_values(values, origins, 3),
                          "forecasts": {"lstm": values[origins - 1, None] + forecasts[origins],
                                        "persistence": persistence(values, origins, 3)},
                          "volatility": local_scale(values, origins, 12, 0.1)}
        return out

    before, after = runs(values), runs(np.where(np.arange(300) >= 200, values + 50.0, values))
    score_splits(before, 1.0, 0.9, 2, "adaptive", 0.05)
    score_splits(after, 1.0, 0.9, 2, "adaptive", 0.05)
    seen = before["test"]["origins"] <= 200  # these origins read values[:200] at most
    np.testing.assert_array_equal(after["test"]["half_width"][seen], before["test"]["half_width"][seen])
    assert not np.array_equal(after["test"]["half_width"][~seen], before["test"]["half_width"][~seen])


SHIFT_AT = 350


def shift_runs(shift: float, horizon: int, seed: int = 0) -> dict[str, dict]:
    """White noise whose level moves by ``shift`` at time 350, forecast by the level before (0): validation
    origins 50..249, test origins 250..649, so the shift comes 100 origins into the test span."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=700)
    values[SHIFT_AT:] += shift
    runs = {}
    for split, origins in (("val", np.arange(50, 250)), ("test", np.arange(250, 650))):
        runs[split] = {"origins": origins, "actual": future_values(values, origins, horizon),
                       "forecasts": {"lstm": np.zeros((len(origins), horizon)),
                                     "persistence": persistence(values, origins, horizon)},
                       "volatility": np.ones(len(origins))}
    return runs


def coverage_after_the_shift(method: str, shift: float, horizon: int) -> tuple[float, float]:
    runs = shift_runs(shift, horizon)
    results = score_splits(runs, 1.0, 0.9, 1, method, 0.02)
    test = runs["test"]
    inside = np.abs(test["actual"] - test["forecasts"]["lstm"]) <= test["half_width"]
    assert results["test_lstm_coverage"] == inside.mean()
    return float(inside[test["origins"] >= SHIFT_AT].mean()), results["test_lstm_width"]


@pytest.mark.parametrize("horizon", [1, 3])
def test_adaptive_coverage_recovers_after_a_level_shift_where_split_collapses(horizon):
    split, split_width = coverage_after_the_shift("split", 3.0, horizon)
    adaptive, adaptive_width = coverage_after_the_shift("adaptive", 3.0, horizon)
    assert split < 0.15  # 0.083 (H = 1): the validation quantile, about 1.65, misses most errors near 3
    assert adaptive > 0.85  # 0.890 (H = 1): near the nominal 0.9
    assert adaptive_width > 2 * split_width  # it gets there by widening the interval


@pytest.mark.parametrize("horizon", [1, 3])
def test_without_a_shift_both_methods_are_near_nominal(horizon):
    for method in ("split", "adaptive"):
        coverage, _ = coverage_after_the_shift(method, 0.0, horizon)
        assert abs(coverage - 0.9) < 0.04  # split 0.910, adaptive 0.893 (H = 1)


def test_interval_score_and_pinball_by_hand():
    # Level 0.8 (alpha 0.2), band [10, 20], MASE scale 2; values inside, 4 below, 5 above.
    actual = np.array([15.0, 6.0, 25.0])
    lower, upper = np.full(3, 10.0), np.full(3, 20.0)
    # width 10; a miss adds 2 / 0.2 = 10 times its distance: 10, 10 + 40, 10 + 50; halved by the scale.
    assert metrics.interval_score(actual, lower, upper, 0.8, 2.0).tolist() == pytest.approx([5.0, 25.0, 30.0])
    # Edges as the 0.1 and 0.9 quantiles. 15: 0.1 * 5 + 0.1 * 5 = 1. 6: 0.9 * 4 + 0.1 * 14 = 5.
    # 25: 0.1 * 15 + 0.9 * 5 = 6. Averaged over the two edges, then halved by the scale.
    assert metrics.pinball(actual, lower, upper, 0.8, 2.0).tolist() == pytest.approx([0.25, 1.25, 1.5])


def test_a_wide_band_covers_but_scores_worse_than_a_calibrated_one():
    rng = np.random.default_rng(0)
    actual = rng.normal(size=4000)
    scores = {}
    for half in (1.645, 6.0):  # the 90% normal band, and one far wider that covers everything
        scores[half] = (np.mean(np.abs(actual) <= half),
                        metrics.interval_score(actual, -half, half, 0.9, 1.0).mean(),
                        metrics.pinball(actual, -half, half, 0.9, 1.0).mean())
    assert scores[6.0][0] > scores[1.645][0]  # more coverage
    assert scores[6.0][1] > 1.5 * scores[1.645][1] and scores[6.0][2] > 1.5 * scores[1.645][2]  # worse scores
