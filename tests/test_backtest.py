import numpy as np
import pytest
import torch

from lstm_forecast.evaluation.backtest import future_values
from lstm_forecast.evaluation.baselines import fit_linear, linear_forecast, persistence, seasonal_naive
from lstm_forecast.errors import ArgumentError
from lstm_forecast.model.forecasting import forecast, to_levels
from lstm_forecast.evaluation.intervals import conformal_quantile, local_scale
from lstm_forecast.model.network import LSTMForecaster, ModelConfig
from lstm_forecast.prep.splits import window_origins
from lstm_forecast.prep.windows import Windows

SERIES = np.arange(20.0) * 10  # value at t is 10 t


def test_future_values_and_naive_baselines_by_hand():
    origins = np.array([5, 9])
    assert future_values(SERIES, origins, 3).tolist() == [[50, 60, 70], [90, 100, 110]]
    assert persistence(SERIES, origins, 3).tolist() == [[40, 40, 40], [80, 80, 80]]
    # step h forecasts t + h from t + h - season
    assert seasonal_naive(SERIES, origins, 3, 4).tolist() == [[10, 20, 30], [50, 60, 70]]


def test_seasonal_naive_may_not_reach_past_its_origin():
    with pytest.raises(ArgumentError, match=r"^season=4: shorter than the horizon 5"):
        seasonal_naive(SERIES, np.array([10]), 5, 4)


def test_linear_autoregression_recovers_a_linear_rule():
    # z[t] = 0.5 z[t-1] + 0.3 z[t-2] + noise-free: ridge with a tiny penalty finds it.
    rng = np.random.default_rng(0)
    z = np.zeros(300)
    z[:2] = rng.normal(size=2)
    for t in range(2, 300):
        z[t] = 0.5 * z[t - 1] + 0.3 * z[t - 2] + rng.normal(scale=0.1)
    model = fit_linear(z, (2, 200), time_step=2, horizon=1, alpha=1e-9)
    assert model.coef_.ravel() == pytest.approx([0.3, 0.5], abs=0.05)  # oldest lag first
    origins = np.array([250, 251])
    coef, intercept = np.reshape(model.coef_, (-1, 2))[0], np.ravel(model.intercept_)[0]
    expected = intercept + z[origins - 2] * coef[0] + z[origins - 1] * coef[1]
    assert linear_forecast(model, z, origins, 2)[:, 0] == pytest.approx(expected)


def test_linear_autoregression_fits_the_training_windows_only():
    z = np.sin(np.arange(100) / 3)
    splits = {"train": [0, 60], "val": [60, 80], "test": [80, 100]}
    train = window_origins(100, splits, 5, 2)["train"]  # [5, 59): the last window's targets are z[58], z[59]
    a = fit_linear(z, train, 5, 2, 1.0)
    changed = z.copy()
    changed[60:] = 99.0  # after the training span: no effect
    b = fit_linear(changed, train, 5, 2, 1.0)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)


def test_conformal_quantile_by_hand():
    residuals = np.array([[-1.0, 10.0], [2.0, -20.0], [-3.0, 30.0], [4.0, 40.0], [5.0, -50.0],
                          [6.0, 60.0], [-7.0, 70.0], [8.0, 80.0], [9.0, -90.0]])
    # n = 9, level 0.8: k = ceil(10 * 0.8) = 8, the 8th smallest |residual| per column.
    assert conformal_quantile(residuals, 0.8).tolist() == [8.0, 80.0]
    # level 0.9: k = ceil(9.0) = 9, the largest.
    assert conformal_quantile(residuals, 0.9).tolist() == [9.0, 90.0]
    with pytest.raises(ArgumentError, match=r"^level=0.95: needs at least 10 calibration forecasts"):
        conformal_quantile(residuals, 0.95)


@pytest.mark.parametrize("strategy, outputs", [("recursive", 1), ("direct", 4)])
def test_forecasts_never_read_at_or_after_their_origin(strategy, outputs):
    torch.manual_seed(0)
    model = LSTMForecaster(ModelConfig(hidden_size=4, output_size=outputs)).eval()
    series = torch.randn(120)
    windows = Windows(series, (60, 100), 12, "last", horizon=4, stride=7)
    before = forecast(model, windows, 4, strategy)
    assert before.shape == (len(windows), 4)
    origin = int(windows.origins[2])
    perturbed = series.clone()
    perturbed[origin:] += 100.0  # the future from the third origin on
    after = forecast(model, Windows(perturbed, (60, 100), 12, "last", horizon=4, stride=7), 4, strategy)
    assert torch.equal(after[:3], before[:3])  # origins up to and including it: unchanged
    assert not torch.equal(after[3:], before[3:])  # later origins do see it: the test can fail

    values = perturbed.double().numpy()
    origins = windows.origins.numpy()
    base = series.double().numpy()
    for fn in (lambda v: persistence(v, origins, 4), lambda v: seasonal_naive(v, origins, 4, 12)):
        assert np.array_equal(fn(values)[:3], fn(base)[:3])
    z_model = fit_linear(base, (12, 60), 12, 4, 1.0)
    assert np.array_equal(linear_forecast(z_model, values, origins, 12)[:3],
                          linear_forecast(z_model, base, origins, 12)[:3])


def test_recursive_feeds_its_own_forecasts():
    torch.manual_seed(1)
    model = LSTMForecaster(ModelConfig(hidden_size=4)).eval()
    series = torch.randn(50)
    windows = Windows(series, (20, 21), 8, "last", horizon=3)
    got = forecast(model, windows, 3, "recursive")[0]
    x = series[12:20].reshape(1, 8, 1)
    with torch.no_grad():
        for h in range(3):
            step = model(x)[0, -1, 0]
            assert got[h] == pytest.approx(float(step), abs=1e-6)
            x = torch.cat([x[:, 1:], step.reshape(1, 1, 1)], dim=1)


def test_local_scale_by_hand():
    values = np.array([0.0, 1.0, 3.0, 6.0, 10.0, 10.0, 10.0])
    # t = 4, window 3: changes among values[0:4] = 1, 2, 3 -> mean 2; t = 7: changes 4, 0, 0 -> 4/3
    assert local_scale(values, np.array([4, 7]), 3, 0.0).tolist() == pytest.approx([2.0, 4 / 3])
    assert local_scale(values, np.array([7]), 2, 0.5).tolist() == [0.5]  # a calm stretch gets the floor
    assert local_scale(values, np.array([2, 5]), 0, 0.5).tolist() == [1.0, 1.0]
    with pytest.raises(ArgumentError, match=r"^window=3: reaches before the start"):
        local_scale(values, np.array([3]), 3, 0.0)


def test_differenced_forecasts_are_summed_onto_the_last_value():
    values = np.array([10.0, 12.0, 11.0, 15.0, 14.0])
    changes = np.array([[1.0, 2.0, -1.0], [0.5, 0.5, 0.5]])
    assert to_levels(changes, values, np.array([2, 4]), True).tolist() == [[13, 15, 14], [15.5, 16, 16.5]]
    assert to_levels(changes, values, np.array([2, 4]), False) is changes


def test_multi_output_linear_autoregression_by_hand():
    # z[t] = 0.9 z[t-1] exactly: the direct 2-step model must learn 0.9 and 0.81 on the last lag.
    z = 0.9 ** np.arange(60.0) * 5
    model = fit_linear(z, (3, 50), time_step=3, horizon=2, alpha=1e-12)
    origin = np.array([55])
    got = linear_forecast(model, z, origin, 3)[0]
    assert got == pytest.approx([0.9 * z[54], 0.81 * z[54]], rel=1e-4)
