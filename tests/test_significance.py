"""The Diebold-Mariano test with the Harvey-Leybourne-Newbold correction, against hand computations."""
import math

import numpy as np
import pytest

from lstm_forecast.errors import ArgumentError
from lstm_forecast.evaluation.significance import diebold_mariano, long_run_variance


def t3_two_sided(t: float) -> float:
    """Two-sided p of Student's t with 3 degrees of freedom, from its closed-form CDF (no scipy)."""
    cdf = 0.5 + (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi
    return 2 * (1 - cdf)


def test_one_step_by_hand():
    # d = a - b = [1, -1, 2, 0]: mean 0.5, gamma_0 = (0.25 + 2.25 + 2.25 + 0.25) / 4 = 1.25,
    # DM = 0.5 / sqrt(1.25 / 4), HLN factor sqrt((4 + 1 - 2) / 4).
    result = diebold_mariano(np.array([2.0, 0.0, 3.0, 1.0]), np.array([1.0, 1.0, 1.0, 1.0]), h=1)
    statistic = 0.5 / math.sqrt(1.25 / 4) * math.sqrt(3 / 4)
    assert result.statistic == pytest.approx(statistic, rel=1e-12)
    assert result.p_value == pytest.approx(t3_two_sided(statistic), rel=1e-9)
    assert result.mean_difference == 0.5


def test_two_steps_count_the_first_autocovariance():
    # d = [1, 1, 2, 2, 3, 3]: centred [-1, -1, 0, 0, 1, 1], gamma_0 = 4/6, gamma_1 = (1 + 1) / 6,
    # long-run variance 4/6 + 2 * 2/6 = 8/6; DM = 2 / sqrt(8/36) = 3 sqrt(2); HLN factor
    # sqrt((6 + 1 - 4 + 2/6) / 6) = sqrt(5/9): the statistic is sqrt(10).
    d = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
    assert long_run_variance(d, 2) == pytest.approx(8 / 6)
    assert long_run_variance(d, 1) == pytest.approx(4 / 6)
    result = diebold_mariano(d, np.zeros(6), h=2)
    assert result.statistic == pytest.approx(math.sqrt(10), rel=1e-12)
    assert 0.02 < result.p_value < 0.03  # t(5): two-sided p of 3.162 is 0.0250


def test_a_variance_that_is_not_positive_reruns_the_test_at_one_step():
    d = np.array([1.0, -1.0, 2.0, 0.0, 3.0])  # gamma_0 = 2, gamma_1 = -1: 2 + 2 (-1) = 0
    assert long_run_variance(d, 2) == pytest.approx(0.0)
    assert diebold_mariano(d, np.zeros(5), 2) == diebold_mariano(d, np.zeros(5), 1)
    with pytest.raises(ArgumentError, match=r"^h=3: is too long for 3 origins"):
        diebold_mariano(np.array([1.0, 3.0, 2.0]), np.zeros(3), 3)  # 3 + 1 - 6 + 6/3 = 0


def test_sign_symmetry_and_degenerate_cases():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50) ** 2, rng.normal(size=50) ** 2
    ab, ba = diebold_mariano(a, b, 3), diebold_mariano(b, a, 3)
    assert ab.statistic == pytest.approx(-ba.statistic) and ab.p_value == pytest.approx(ba.p_value)
    assert diebold_mariano(a, a).p_value == 1.0  # the same forecasts
    assert diebold_mariano(a, a + 1).p_value == 0.0  # better by the same amount at every origin
    with pytest.raises(ArgumentError, match=r"needs at least 2 origins"):
        diebold_mariano(a[:1], b[:1])


def test_a_clear_difference_is_significant_and_noise_is_not():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=400)
    good, bad = truth + rng.normal(0, 0.5, 400), truth + rng.normal(0, 1.0, 400)
    assert diebold_mariano((good - truth) ** 2, (bad - truth) ** 2).p_value < 0.001
    twin = truth + rng.normal(0, 0.5, 400)
    assert diebold_mariano((good - truth) ** 2, (twin - truth) ** 2).p_value > 0.05
