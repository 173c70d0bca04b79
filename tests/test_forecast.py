"""The forecast stage and pipeline.predict: the next S values in calendar time, bands calibrated on
rolling-origin forecasts, the model that made them, and that model on new data."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from lstm_forecast.data.artifacts import Normalization
from lstm_forecast.model.checkpoint import load_forecaster
from lstm_forecast.prep.features import calendar_features
from lstm_forecast.future.bands import Calibration, Inputs, future_stamps, rolling_forecasts
from lstm_forecast.evaluation.intervals import adaptive_step, conformal_quantile
from lstm_forecast.model.network import Ensemble, ModelConfig
from lstm_forecast.prep.scaling import Scaler
from lstm_forecast.model.members import fit, refit
from lstm_forecast.model.training import FitSettings
from lstm_forecast.prep.windows import Windows
from pipeline import forecast as forecast_stage
from pipeline import window as window_stage
from pipeline import predict
from tests.helpers import SMALL_PARAMS, run_stages, sine_series, stage_argv, write_params


@pytest.mark.parametrize("freq, last, first", [
    ("MS", "2019-12-01", "2020-01-01"),
    ("W-SUN", "2021-01-03", "2021-01-10"),
    ("D", "2020-02-28", "2020-02-29"),
    ("30min", "2020-03-01 23:30", "2020-03-02 00:00"),
    ("QS-OCT", "2020-10-01", "2021-01-01"),
])
def test_future_stamps_start_one_period_after_the_last(freq, last, first):
    stamps = future_stamps(pd.Timestamp(last), freq, 3)
    assert stamps[0] == pd.Timestamp(first)
    assert list(stamps) == list(pd.date_range(first, periods=3, freq=freq))


def test_future_stamps_keep_the_wall_clock_across_a_daylight_saving_change():
    last = pd.Timestamp("2024-03-29", tz="Europe/Berlin")  # clocks go forward on 31 March
    stamps = future_stamps(last, "D", 4)
    assert [s.hour for s in stamps] == [0, 0, 0, 0]
    assert list(stamps) == list(pd.date_range("2024-03-30", periods=4, freq="D", tz="Europe/Berlin"))


def test_without_a_calendar_the_future_is_in_steps():
    assert future_stamps(None, "MS", 3) is None and future_stamps(pd.Timestamp("2020-01-01"), None, 3) is None


@pytest.mark.parametrize("kernel, highway", [("torch", False), ("c", True)])  # the shipped model: c, highway
def test_refit_on_the_training_windows_gives_the_trained_members_bit_for_bit(kernel, highway):
    z = torch.tensor(np.sin(np.arange(200) / 4), dtype=torch.float32)
    train, val = Windows(z, (12, 150), 12, "sequence"), Windows(z, (150, 200), 12, "last")
    settings = FitSettings(hidden_size=4, num_layers=1, epochs=6, batch_size=16, lr=0.05, seed=3, ensemble=2,
                           lstm_kernel=kernel, highway=highway, steps_per_epoch=3)
    trained = fit(train, val, settings, torch.device("cpu"))
    epochs = tuple(m.best_epoch for m in trained.members)
    again = refit(train, settings, epochs, 1, torch.device("cpu"))
    for a, b in zip(trained.model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    # More epochs than validation chose give other weights: the epochs are what makes them equal.
    longer = refit(train, settings, tuple(e + 1 for e in epochs), 1, torch.device("cpu"))
    assert not all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), longer.state_dict().values()))


def small_model(inputs: int = 1) -> Ensemble:
    torch.manual_seed(0)
    return Ensemble.build(ModelConfig(hidden_size=4, num_layers=1, input_size=inputs, lstm_kernel="torch"), 1).eval()


def test_the_future_calendar_is_that_of_the_next_stamps():
    frame = sine_series(60)
    norm = Normalization(60, {"train": (0, 40), "val": (40, 50), "test": (50, 60)}, Scaler("zscore", 50.0, 30.0), False)
    inputs = Inputs.build(frame["level"].to_numpy(float), frame["date"], norm, ("month",), "MS", 5)
    stamps = pd.Series(pd.date_range("2005-01-01", periods=5, freq="MS"))
    assert torch.equal(inputs.features[60:], torch.from_numpy(calendar_features(stamps, ("month",))))
    assert torch.equal(inputs.z[60:], torch.zeros(5))


@pytest.mark.parametrize("difference", [False, True])
def test_a_forecast_reads_nothing_at_or_after_its_origin(difference):
    frame = sine_series(80)
    values = frame["level"].to_numpy(float)
    norm = Normalization(80, {"train": (0, 50), "val": (50, 65), "test": (65, 80)}, Scaler("zscore", 0.0, 30.0),
                         difference)
    model = small_model(3)
    origins, before = rolling_forecasts(model, "recursive", Inputs.build(values, frame["date"], norm, ("month",), "MS",
                                                                         4), norm, 12, False, 50, 4)
    changed = values.copy()
    changed[60:] += 100.0
    _, after = rolling_forecasts(model, "recursive", Inputs.build(changed, frame["date"], norm, ("month",), "MS", 4),
                                 norm, 12, False, 50, 4)
    assert origins[0] == 50 and origins[-1] == 80
    np.testing.assert_array_equal(after[origins <= 60], before[origins <= 60])
    assert not np.allclose(after[origins > 61], before[origins > 61])


def calibration(n: int = 2000, steps: int = 3, seed: int = 0) -> Calibration:
    scores = np.random.default_rng(seed).exponential(size=(n, steps))
    origins = np.arange(n)
    for h in range(1, steps):
        scores[n - h:, h] = np.nan  # step h + 1 from the last h origins: not observed yet
    return Calibration(origins, scores, n // 2)


@pytest.mark.parametrize("method", ["split", "adaptive"])
@pytest.mark.parametrize("level", [0.8, 0.95])
def test_bands_from_validation_cover_exchangeable_test_scores_at_their_level(method, level):
    coverage = calibration(8000).test_coverage(level, method, 0.02)
    assert coverage.shape == (3,)
    assert np.all(np.abs(coverage - level) < 0.02)


def test_split_bands_interval_score_on_test_by_hand():
    # Split bands: each step's half-width is the conformal quantile of its validation scores, in score units;
    # on test, the score of a forecast is its error over its origin's volatility.
    cal = calibration(400)
    volatility = np.random.default_rng(1).uniform(0.5, 2.0, size=len(cal.origins))
    checked = Calibration(cal.origins, cal.scores, cal.test_start, volatility).test_check(0.8, "split", 0.0, 2.5)
    for h in (1, 2, 3):
        _, val = cal._step(h, "val")
        origins, seq = cal._step(h, "test")
        q = conformal_quantile(val, 0.8)
        error, band = seq * volatility[origins], q * volatility[origins]
        expected = (2 * band + 10 * np.maximum(error - band, 0)) / 2.5  # 2 / alpha = 10 at 80%
        assert checked["msis"][h - 1] == pytest.approx(expected.mean(), rel=1e-12)
        assert checked["pinball"][h - 1] == pytest.approx(expected.mean() * 0.2 / 4, rel=1e-12)
        assert checked["coverage"][h - 1] == cal.test_coverage(0.8, "split", 0.0)[h - 1]
    assert set(cal.test_check(0.8, "split", 0.0, 2.5)) == {"coverage"}  # no volatility: coverage only


def test_bands_checked_on_test_are_calibrated_on_no_test_value():
    # Step h from origin t forecasts value t + h - 1: a calibration score from an origin before test whose
    # value lies in test would check the bands on a value they were calibrated on.
    cal = calibration(200)
    for h in (1, 2, 3):
        origins, _ = cal._step(h, "val")
        assert origins.max() + h - 1 == cal.test_start - 1
    spoiled = Calibration(cal.origins, cal.scores.copy(), cal.test_start)
    spoiled.scores[98:100, 2] = 1e9  # step 3 from origins 98 and 99: values 100 and 101, in test
    for method in ("split", "adaptive"):
        np.testing.assert_array_equal(spoiled.test_coverage(0.8, method, 0.02), cal.test_coverage(0.8, method, 0.02))


def test_split_bands_take_the_conformal_quantile_of_every_observed_score():
    cal = calibration(200)
    half = cal.future_half_widths(0.8, "split", 0.02, 200)
    for h in range(3):
        observed = cal.scores[np.isfinite(cal.scores[:, h]), h]
        assert len(observed) == 200 - h
        assert half[h] == conformal_quantile(observed[:, None], 0.8)[0]


def test_adaptive_bands_are_the_next_step_of_the_test_sequence():
    cal = calibration(200)
    half = cal.future_half_widths(0.9, "adaptive", 0.05, 200)
    for h in (1, 3):
        test = np.arange(100, 200 - h + 1)
        # Validation scores whose value lies in validation: origins up to 100 - h.
        expected, _ = adaptive_step(cal.scores[:101 - h, h - 1], np.append(cal.scores[test, h - 1], 0.0),
                                    np.append(test, 200), h, 0.9, 0.05)
        assert half[h - 1] == expected[-1]


@pytest.fixture
def forecasted(tiny_project):
    run_stages(("ingest", "normalize", "window", "train", "forecast"))
    return tiny_project


def test_the_forecast_stage_writes_the_next_steps_in_calendar_time(forecasted):
    table = pd.read_csv(forecasted / "metrics" / "forecast.csv")
    assert list(table.columns) == ["time", "step", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    steps = SMALL_PARAMS["forecast"]["steps"]
    # The series' 240 months start in January 2000: the forecast starts in January 2020.
    assert list(table["time"]) == [d.strftime("%Y-%m-%d") for d in pd.date_range("2020-01-01", periods=steps,
                                                                                  freq="MS")]
    assert list(table["step"]) == list(range(1, steps + 1))
    assert (table["lower_95"] <= table["lower_80"]).all() and (table["lower_80"] < table["forecast"]).all()
    assert (table["forecast"] < table["upper_80"]).all() and (table["upper_80"] <= table["upper_95"]).all()
    history = pd.read_csv(forecasted / "metrics" / "forecast_history.csv")
    assert history["step"].iloc[-1] == 0 and history["time"].iloc[-1] == "2019-12-01"
    coverage = pd.read_csv(forecasted / "metrics" / "forecast_coverage.csv")
    assert list(coverage.columns) == ["step", "coverage_80", "coverage_95", "msis_80", "msis_95", "pinball_80",
                                      "pinball_95"] and len(coverage) == steps
    # The bands' interval score and pinball loss per step, each level's own (pinball: msis x alpha / 4), written
    # to 6 significant digits.
    np.testing.assert_allclose(coverage["pinball_80"], coverage["msis_80"] * 0.2 / 4, rtol=1e-5)
    np.testing.assert_allclose(coverage["pinball_95"], coverage["msis_95"] * 0.05 / 4, rtol=1e-5)
    metrics = json.loads((forecasted / "metrics" / "forecast.json").read_text())
    assert metrics["test_band95_msis"] == pytest.approx(coverage["msis_95"].mean(), rel=1e-5)
    _, _, saved = load_forecaster(forecasted / "models" / "forecast.pt")
    assert saved["steps"] == steps and sorted(saved["bands"]) == ["80", "95"]


def test_predict_on_the_same_file_gives_the_stages_forecast_byte_for_byte(forecasted):
    assert predict.main(["--history", "series.csv", "--out", "again.csv"]) == 0
    assert (forecasted / "again.csv").read_bytes() == (forecasted / "metrics" / "forecast.csv").read_bytes()
    # Last month's model on a month more of data: the forecast moves on by one month.
    longer = sine_series(241)
    longer.to_csv(forecasted / "longer.csv", index=False)
    assert predict.main(["--history", "longer.csv", "--steps", "3", "--out", "longer_forecast.csv"]) == 0
    assert list(pd.read_csv(forecasted / "longer_forecast.csv")["time"]) == ["2020-02-01", "2020-03-01", "2020-04-01"]


def test_refit_none_forecasts_with_the_evaluated_model(forecasted):
    write_params(forecasted / "params.yaml", SMALL_PARAMS | {"forecast": {"steps": 6, "refit": "none"}})
    run_stages(("forecast",))
    _, _, saved = load_forecaster(forecasted / "models" / "forecast.pt")
    assert saved["normalization"] == Normalization.read(forecasted / "data" / "normalize.json").to_json()
    trained = load_forecaster(forecasted / "models" / "model.pt")[0].state_dict()
    used = load_forecaster(forecasted / "models" / "forecast.pt")[0].state_dict()
    assert all(torch.equal(trained[k], used[k]) for k in trained)


@pytest.mark.parametrize("argv, message", [
    (["--model", "models/model.pt"], "error: --model='models/model.pt': holds a trained network without the scaler "
     "and bands a forecast needs (train's checkpoint); use the forecasting model (forecast.pt)"),
    (["--model", "models/none.pt"], "error: models/none.pt: checkpoint not found; run the upstream stage first: "
     "dvc repro"),
    (["--steps", "13"], "error: --steps=13: the model's bands were calibrated for steps 1..12 (forecast.steps); "
     "ask for 1 to 12, or rerun the forecast stage with more"),
    (["--history", "short.csv"], "error: --history='short.csv': too little history, 10 values; the model reads the "
     "last 12 and its bands the last 12 changes: give at least 13 values"),
    (["--history", "weekly.csv"], "error: --history='weekly.csv': its frequency is W-SUN, the model was trained on MS "
     "data"),
    (["--history", "series.csv", "--column", "sales"], "error: --column='sales': not found; columns: date, level"),
])
def test_predict_says_what_is_wrong_in_one_line(forecasted, capsys, argv, message):
    sine_series(10).to_csv(forecasted / "short.csv", index=False)
    weekly = sine_series(60)
    weekly["date"] = pd.date_range("2020-01-05", periods=60, freq="W-SUN")
    weekly.to_csv(forecasted / "weekly.csv", index=False)
    args = {"--history": "series.csv", "--out": "out.csv"}
    for flag, value in zip(argv[::2], argv[1::2]):
        args[flag] = value
    capsys.readouterr()
    assert predict.main([word for pair in args.items() for word in pair]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not (forecasted / "out.csv").exists()


def test_a_direct_model_forecasts_at_most_its_horizon(forecasted, capsys):
    params = SMALL_PARAMS | {"window": SMALL_PARAMS["window"] | {"horizon": 3},
                             "train": SMALL_PARAMS["train"] | {"strategy": "direct"}, "forecast": {"steps": 4}}
    # The window stage refuses it before any training; the forecast stage checks it too, for its own callers.
    write_params(forecasted / "params.yaml", params)
    assert window_stage.main(stage_argv("window")) == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: forecast.steps=4 is longer than window.horizon=3, all a direct model (train.strategy: direct) "
        "forecasts; use forecast.steps <= 3, or train.strategy: recursive, which reaches any number of steps")
    write_params(forecasted / "params.yaml", params | {"forecast": {"steps": 3}})
    run_stages(("window", "train"))
    write_params(forecasted / "params.yaml", params)
    capsys.readouterr()
    assert forecast_stage.main(stage_argv("forecast")) == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: forecast.steps=4 is longer than window.horizon=3, all a direct model (train.strategy: direct) "
        "forecasts; use forecast.steps <= 3, or train.strategy: recursive, which reaches any number of steps")
    write_params(forecasted / "params.yaml", params | {"forecast": {"steps": 3}})
    assert forecast_stage.main(stage_argv("forecast")) == 0
    assert len(pd.read_csv(forecasted / "metrics" / "forecast.csv")) == 3


def test_predict_reads_the_file_with_ingests_options(forecasted, capsys):
    gappy = sine_series(241).drop(index=[230]).reset_index(drop=True)  # one month absent
    gappy.to_csv(forecasted / "gappy.csv", index=False)
    capsys.readouterr()
    assert predict.main(["--history", "gappy.csv", "--out", "out.csv"]) == 2
    assert capsys.readouterr().err.startswith("error: --freq='auto': 1 periods of the calendar (MS) have no row: "
                                              "2019-03-01 00:00:00; missing 'interpolate' fills them in")
    assert predict.main(["--history", "gappy.csv", "--missing", "interpolate", "--out", "out.csv"]) == 0
    assert pd.read_csv(forecasted / "out.csv")["time"].iloc[0] == "2020-02-01"


@pytest.mark.parametrize("out, message", [
    ("models", "error: --out='models': a folder; name the CSV file to write"),
    ("series.csv", "error: --out='series.csv': that is the --history file; write the forecast elsewhere"),
])
def test_predict_refuses_an_output_that_is_a_folder_or_its_input(forecasted, capsys, out, message):
    before = (forecasted / "series.csv").read_bytes()
    capsys.readouterr()
    assert predict.main(["--history", "series.csv", "--out", out]) == 2
    assert capsys.readouterr().err.strip() == message
    assert (forecasted / "series.csv").read_bytes() == before


def test_a_model_trained_on_another_alias_of_the_calendar_reads_the_file(tiny_project):
    # ingest records the alias it was given; predict infers MS from the same dates.
    write_params(tiny_project / "params.yaml", SMALL_PARAMS | {"ingest": SMALL_PARAMS["ingest"] | {"freq": "1MS"}})
    run_stages(("ingest", "normalize", "window", "train", "forecast"))
    assert load_forecaster(tiny_project / "models" / "forecast.pt")[2]["freq"] == "1MS"
    assert predict.main(["--history", "series.csv", "--out", "again.csv"]) == 0
    assert (tiny_project / "again.csv").read_bytes() == (tiny_project / "metrics" / "forecast.csv").read_bytes()


def test_retraining_refuses_train_params_the_model_was_not_trained_with(forecasted, capsys):
    write_params(forecasted / "params.yaml", SMALL_PARAMS | {"train": SMALL_PARAMS["train"] | {"hidden_size": 4}})
    before = (forecasted / "metrics" / "forecast.csv").read_bytes()
    capsys.readouterr()
    assert forecast_stage.main(stage_argv("forecast")) == 2
    assert capsys.readouterr().err.strip() == (
        "error: models/model.pt was trained with other train params than params.yaml's (hidden_size, num_layers, "
        "dropout, highway, ensemble, strategy: (8, 2, 0.0, False, 1, 'recursive')), so it cannot say how long to "
        "retrain; rerun train (dvc repro)")
    assert (forecasted / "metrics" / "forecast.csv").read_bytes() == before
