"""What the LSTM reads: windows scaled by their own statistics, differencing chosen by a unit-root test,
calendar inputs, and seed ensembles."""
import numpy as np
import pandas as pd
import pytest
import torch

from lstm_forecast.prep.features import auto_time_step, calendar_features
from lstm_forecast.model.forecasting import forecast
from lstm_forecast.model.network import Ensemble, LSTMForecaster, ModelConfig
from lstm_forecast.prep.splits import scale_series
from lstm_forecast.prep.stationarity import choose_difference
from lstm_forecast.model.members import fit
from lstm_forecast.model.training import FitSettings
from lstm_forecast.prep.windows import MIN_WINDOW_SPREAD, Windows
from tests.helpers import reference_training


def test_window_scaling_is_exactly_inverted():
    series = torch.tensor([3.0, 5.0, 4.0, 8.0, 6.0, 7.0, 7.0, 7.0, 7.0, 9.0], dtype=torch.float64)
    windows = Windows(series, (4, 10), 4, "sequence", scale_windows=True)
    centre, spread = windows.statistics()
    assert centre[:, 0].tolist() == [8.0, 6.0, 7.0, 7.0, 7.0, 7.0]  # each window's last input
    assert spread[0, 0] == pytest.approx(np.std([3.0, 5.0, 4.0, 8.0]))
    assert spread[5, 0] == MIN_WINDOW_SPREAD  # [7, 7, 7, 7] is flat: the floor, not 0
    x, y = windows.batch(torch.arange(6))
    # Inputs and targets in the window's own scale: the last input is 0.
    assert x[-1, :, 0].tolist() == [0.0] * 6
    assert torch.equal(x[:, 0, 0], (series[0:4] - 8.0) / spread[0, 0])
    assert torch.equal(y[:, 0, 0], (series[1:5] - 8.0) / spread[0, 0])
    # Mapping the scaled future back gives the series' own values, exactly (to rounding).
    future_scaled = (windows.future() - centre) / spread
    assert torch.allclose(windows.unscale(future_scaled), windows.future(), rtol=0, atol=1e-12)


def test_a_scaled_window_forecast_is_mapped_back():
    # A model that outputs 0 in a window's own scale forecasts the last input: persistence.
    model = LSTMForecaster(ModelConfig(hidden_size=4))
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)
    series = torch.linspace(0, 5, 40)
    windows = Windows(series, (10, 38), 10, "last", horizon=3, scale_windows=True)
    out = forecast(model.eval(), windows, 3, "recursive")
    assert torch.allclose(out, series[windows.origins - 1][:, None].expand(-1, 3))


def test_difference_auto_picks_1_on_a_random_walk_and_0_on_white_noise():
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=500))
    noise = rng.normal(size=500)
    assert choose_difference(walk).difference
    assert not choose_difference(noise).difference
    assert choose_difference(walk).p_value < 0.05 <= choose_difference(noise).p_value
    frame = pd.DataFrame({"value": walk})
    bounds = {"train": (0, 350), "val": (350, 425), "test": (425, 500)}
    scaled, norm = scale_series(frame, bounds, "zscore", "auto")
    assert norm.difference and norm.difference_test["test"] == "kpss" and norm.difference_test["difference"]
    assert np.allclose(scaled["scaled"].iloc[1:] * norm.scaler.scale + norm.scaler.offset, np.diff(walk))
    # Only the training span is tested: a walk that starts after it does not change the choice.
    changed = frame.assign(value=np.r_[noise[:350], walk[350:] * 100])
    assert not scale_series(changed, bounds, "zscore", "auto")[1].difference


def test_calendar_features_line_up_with_the_time_stamps():
    times = pd.Series(pd.to_datetime(["2021-01-01 00:00", "2021-04-01 06:00", "2021-07-01 12:00",
                                      "2021-01-04 18:30"]))
    f = calendar_features(times, ("month", "hour", "dayofweek"))
    assert f.shape == (4, 6) and f.dtype == np.float32
    month = np.array([0, 3, 6, 0]) / 12
    hour = np.array([0, 6, 12, 18.5]) / 24
    day = np.array([4, 3, 3, 0]) / 7  # Friday, Thursday, Thursday, Monday
    expected = np.stack([np.sin(2 * np.pi * month), np.cos(2 * np.pi * month), np.sin(2 * np.pi * hour),
                         np.cos(2 * np.pi * hour), np.sin(2 * np.pi * day), np.cos(2 * np.pi * day)], axis=1)
    assert np.allclose(f, expected, atol=1e-6)
    # Fed beside each input value: step s of the window at origin t reads the features of index t - T + s.
    series = torch.arange(10.0)
    features = torch.arange(20.0).reshape(10, 2)
    x = Windows(series, (4, 6), 4, "last", features=features).inputs()
    assert x.shape == (4, 2, 3)
    assert x[:, 1].tolist() == [[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 6.0, 7.0], [4.0, 8.0, 9.0]]
    with pytest.raises(ValueError, match="needs a time column of dates; the series has a int64 time column"):
        calendar_features(pd.Series([1, 2, 3]), ("month",))


def test_recursive_forecasts_read_the_calendar_of_each_step():
    # A model whose output is its last input's first feature: each step forecasts the feature it was fed.
    model = LSTMForecaster(ModelConfig(hidden_size=2, input_size=2, lstm_kernel="torch")).eval()
    model.forward_time_major = lambda x: x[..., 1:2]
    series = torch.zeros(20)
    features = torch.arange(20.0)[:, None]
    windows = Windows(series, (5, 15), 5, "last", horizon=3, features=features)
    out = forecast(model, windows, 3, "recursive")
    origins = windows.origins[:, None].float()
    # Step 1 reads the window's inputs (last index t - 1); step k + 1 the features of index t + k - 1.
    assert torch.equal(out, torch.cat([origins - 1, origins, origins + 1], dim=1))


def test_auto_time_step():
    assert [auto_time_step(s, 1000) for s in (1, 4, 7, 12, 48, 52, 132, 169)] == [16, 16, 21, 36, 144, 156, 192, 192]
    assert auto_time_step(12, 60) == 20


def sine_windows():
    t = torch.arange(300, dtype=torch.float32)
    series = torch.sin(t / 6) + 0.1 * torch.cos(t / 2.3)
    return Windows(series, (20, 240), 20, "sequence"), Windows(series, (240, 300), 20, "last")


SETTINGS = reference_training(FitSettings, hidden_size=4, epochs=2, batch_size=16, seed=7)


def test_an_ensemble_of_one_equals_the_single_model_bit_for_bit():
    train, val = sine_windows()
    single = fit(train, val, SETTINGS, torch.device("cpu"))
    again = fit(train, val, SETTINGS, torch.device("cpu"))
    assert len(single.model.members) == 1
    member = single.model.members[0]
    assert torch.equal(forecast(single.model, val, 1, "recursive"), forecast(member, val, 1, "recursive"))
    for a, b in zip(member.state_dict().values(), again.model.members[0].state_dict().values()):
        assert torch.equal(a, b)
    # The first member of an ensemble is that same model: seeds seed, seed + 1, ...
    three = fit(train, val, FitSettings(**{**SETTINGS.__dict__, "ensemble": 3}), torch.device("cpu"))
    for a, b in zip(member.state_dict().values(), three.model.members[0].state_dict().values()):
        assert torch.equal(a, b)
    assert [m.seed for m in three.members] == [7, 8, 9]
    assert three.spread > 0 and single.spread == 0


def test_an_ensemble_forecasts_the_median_of_its_members():
    members = [LSTMForecaster(ModelConfig(hidden_size=3, lstm_kernel="torch")) for _ in range(4)]
    for k, member in enumerate(members):
        member.forward_time_major = lambda x, k=k: x * [1.0, 5.0, 2.0, 3.0][k]
    x = torch.ones(2, 1, 1)
    assert torch.equal(Ensemble(members[:3]).forward_time_major(x), 2 * x)  # median of 1, 5, 2
    assert torch.equal(Ensemble(members).forward_time_major(x), 2.5 * x)  # mean of the middle two, 2 and 3


def test_calendar_auto_follows_the_frequency():
    from lstm_forecast.prep.features import calendar_for
    from lstm_forecast.config.window import WindowParams

    cases = {"MS": ("month",), "QS-OCT": ("quarter",), "W-MON": ("dayofyear",), "D": ("dayofweek",),
             "B": ("dayofweek",), "30min": ("hour", "dayofweek"), "h": ("hour", "dayofweek"),
             "bh": ("hour", "dayofweek"), "YS": (), None: ()}
    assert {freq: calendar_for(freq) for freq in cases} == cases
    assert WindowParams(calendar="auto").calendar_inputs("MS") == ("month",)
    assert WindowParams(calendar=("hour",)).calendar_inputs("MS") == ("hour",)


@pytest.mark.parametrize("freq, season", [
    ("MS", 12), ("ME", 12), ("BMS", 12), ("QS-OCT", 4), ("QE", 4), ("W-SUN", 52), ("D", 7), ("B", 5), ("h", 24),
    ("30min", 48), ("15min", 96), ("bh", 8), ("2MS", 6), ("3MS", 4), ("2h", 12),
])
def test_season_auto_follows_the_frequency(freq, season):
    from lstm_forecast.prep.features import season_for

    assert season_for(freq)[0] == season


@pytest.mark.parametrize("freq, why", [
    (None, "the rows have no dates, so everything works in steps"),
    ("YS", "a year is a single YS step"),
    ("5MS", "a year is no whole number of 5MS steps"),  # 12 / 5
    ("7h", "a day is no whole number of 7h steps"),
    ("2D", "a week is no whole number of 2D steps"),
    ("SMS", "no calendar cycle is known for SMS steps"),
])
def test_season_auto_is_one_without_a_whole_cycle(freq, why):
    from lstm_forecast.prep.features import season_for

    assert season_for(freq) == (1, why)


def test_the_highway_is_a_causal_linear_autoregression_on_the_values():
    import torch.nn.functional as F

    model = LSTMForecaster(ModelConfig(hidden_size=4, input_size=3, output_size=2, highway=5, lstm_kernel="torch"))
    plain = LSTMForecaster(ModelConfig(hidden_size=4, input_size=3, output_size=2, lstm_kernel="torch"))
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("highway")})
    x = torch.randn(9, 3, 3)
    # Conv1d over the value channel, padded on the left: step s reads values s - 4 .. s, never a later one.
    conv = model.highway(F.pad(x[..., 0].T.unsqueeze(1), (4, 0))).permute(2, 0, 1)
    assert torch.allclose(model.forward_time_major(x), plain.forward_time_major(x) + conv, atol=1e-6)
    later = x.clone()
    later[6:] += 1.0
    assert torch.equal(model.forward_time_major(later)[:6], model.forward_time_major(x)[:6])
    # Without a highway the model is the reference one, parameter for parameter.
    torch.manual_seed(0)
    a = LSTMForecaster(ModelConfig())
    torch.manual_seed(0)
    b = LSTMForecaster(ModelConfig(highway=0))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
