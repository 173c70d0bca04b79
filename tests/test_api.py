"""The library's Forecaster against the stages: the same settings give the same numbers, byte for byte where the
stages write them, because they are one code path; its own errors are one line naming what to change."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from lstm_forecast import Forecaster
from lstm_forecast.config.presets import REFERENCE
from lstm_forecast.config.sections import Settings
from lstm_forecast.errors import ArgumentError, UserError
from pipeline import predict
from tests.helpers import ROOT, SMALL_PARAMS, run_stages, sine_series

BAND_COLUMNS = ["forecast", "lo-80", "hi-80", "lo-95", "hi-95"]
STAGE_COLUMNS = ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]


def long_frame(series: pd.DataFrame, uid: str = "s1") -> pd.DataFrame:
    """sine_series (date, level) as the long frame the Forecaster reads."""
    return pd.DataFrame({"unique_id": uid, "ds": series["date"], "y": series["level"]})


def as_csv(frame: pd.DataFrame) -> list[str]:
    """Numbers as the stages' CSV files write them."""
    return [f"{v:.6f}" for v in frame.to_numpy().ravel()]


@pytest.fixture(scope="module")
def shipped():
    """The shipped series fitted with the committed params.yaml, as a notebook would."""
    raw = pd.read_excel(ROOT / "data" / "sunspots.xlsx", sheet_name="sunspots")
    df = pd.DataFrame({"unique_id": "sunspots", "ds": raw["date"], "y": raw["sunspots"]})
    return Forecaster.from_params(ROOT / "params.yaml").fit(df)


def test_the_api_forecasts_the_committed_forecast_of_the_shipped_series(shipped, tmp_path, monkeypatch):
    committed = pd.read_csv(ROOT / "metrics" / "forecast.csv")
    out = shipped.predict(24)
    assert list(out.columns) == ["unique_id", "ds", *BAND_COLUMNS]
    assert (out["unique_id"] == "sunspots").all()
    assert list(out["ds"].dt.strftime("%Y-%m-%d")) == list(committed["time"])
    # One code path: the numbers the forecast stage wrote, to the last digit it writes.
    assert as_csv(out[BAND_COLUMNS]) == as_csv(committed[STAGE_COLUMNS])
    assert np.abs(out[BAND_COLUMNS].to_numpy() - committed[STAGE_COLUMNS].to_numpy()).max() < 1e-6
    # The saved model is the stage's models/forecast.pt: pipeline.predict reads it and forecasts the same.
    shipped.save(tmp_path / "sunspots.pt")
    assert Forecaster.load(tmp_path / "sunspots.pt").predict(24).equals(out)
    monkeypatch.chdir(tmp_path)
    assert predict.main(["--model", "sunspots.pt", "--history", str(ROOT / "data" / "sunspots.xlsx"),
                         "--sheet", "sunspots", "--out", "again.csv"]) == 0
    assert (tmp_path / "again.csv").read_bytes() == (ROOT / "metrics" / "forecast.csv").read_bytes()


def test_backtest_scores_are_the_committed_evaluate_json(shipped):
    scores = shipped.scores()
    assert scores.attrs["results"] == json.loads((ROOT / "metrics" / "evaluate.json").read_text())
    test = scores[scores["split"] == "test"].set_index("model")
    assert set(test.index) == {"lstm", "persistence", "seasonal_naive", "linear", "auto_ets", "auto_arima",
                               "auto_theta"}
    assert np.isnan(test.loc["lstm", "dm_p"]) and 0 <= test.loc["linear", "dm_p"] <= 1
    forecasts = shipped.backtest()
    one = forecasts[(forecasts["split"] == "test") & (forecasts["step"] == 1)]
    predictions = pd.read_csv(ROOT / "metrics" / "predictions.csv")
    assert as_csv(one[["y", "lstm"]]) == as_csv(predictions[predictions["split"] == "test"][["actual", "predicted"]])


@pytest.fixture
def small(tiny_project):
    """The tests' small configuration, as sections, and the tiny project's series as a long frame."""
    sections = {k: v for k, v in SMALL_PARAMS.items() if k != "ingest"}
    return sections, long_frame(sine_series())


def test_a_small_fit_gives_the_stages_outputs(small, tiny_project):
    sections, df = small
    run_stages()
    fc = Forecaster(**sections).fit(df)
    table = pd.read_csv(tiny_project / "metrics" / "forecast.csv")
    out = fc.predict()
    assert len(out) == sections["forecast"]["steps"] and as_csv(out[BAND_COLUMNS]) == as_csv(table[STAGE_COLUMNS])
    assert fc.scores().attrs["results"] == json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    folds = fc.cross_validation()
    assert folds.attrs["summary"] == json.loads((tiny_project / "metrics" / "crossval.json").read_text())
    assert list(folds["fold"].unique()) == [1, 2, 3] and set(folds["model"]) == {"lstm", "persistence",
                                                                                 "seasonal_naive", "linear"}
    mase = pd.read_csv(tiny_project / "metrics" / "crossval.csv")
    assert as_csv(folds[folds["model"] == "linear"][["mase"]]) == as_csv(mase[["linear"]])


def test_predict_takes_steps_levels_and_a_new_history(small, tmp_path):
    sections, df = small
    fc = Forecaster(**sections).fit(df)
    three = fc.predict(3, level=[95])
    assert list(three.columns) == ["unique_id", "ds", "forecast", "lo-95", "hi-95"]
    assert three[["forecast", "lo-95", "hi-95"]].equals(fc.predict()[["forecast", "lo-95", "hi-95"]].iloc[:3])
    assert fc.predict(3, df=df).equals(fc.predict(3))  # the fitted series given again: the same forecast
    later = long_frame(sine_series(252))  # a year more of the same series
    moved = fc.predict(3, df=later)
    assert list(moved["ds"].dt.strftime("%Y-%m")) == ["2021-01", "2021-02", "2021-03"]
    assert not np.allclose(moved["forecast"], three["forecast"])  # from the new values, not the fitted ones
    for h, why in [(13, "the bands were calibrated for steps 1..12; ask for 1 to 12"),
                   (2.5, "should be a whole number of steps from 1 to 12"), (0, "should be a whole number")]:
        with pytest.raises(ArgumentError, match=rf"^h={h}: {re.escape(why)}"):
            fc.predict(h)
    for level in ([90], [0.8], 80.5):
        with pytest.raises(ArgumentError, match=r"^level=.*: should list levels in percent that the bands were "
                                                r"calibrated for: 80, 95 \(a fit with other levels"):
            fc.predict(level=level)
    assert list(fc.predict(2, level=80).columns) == ["unique_id", "ds", "forecast", "lo-80", "hi-80"]
    weekly = pd.DataFrame({"ds": pd.date_range("2000-01-02", periods=60, freq="W-SUN"), "y": np.arange(60.0)})
    with pytest.raises(ArgumentError, match=r"^df='W-SUN': its frequency is W-SUN, the model was trained on MS"):
        fc.predict(df=weekly)
    with pytest.raises(ArgumentError, match=r"^df=5: too little history, 5 values; the model reads the last 12 "):
        fc.predict(df=df.iloc[:5])
    fc.save(tmp_path / "model.pt")
    assert Forecaster.load(tmp_path / "model.pt").predict().equals(fc.predict())


@pytest.mark.parametrize("kind", ["steps", "time zone"])
def test_a_saved_model_forecasts_its_own_series_after_loading(small, tmp_path, kind):
    sections, df = small
    if kind == "steps":  # a step index, not dates: whole numbers stay whole numbers
        df = df.assign(ds=np.arange(1000, 1000 + len(df)))
    else:
        df = df.assign(ds=df["ds"].dt.tz_localize("Europe/Berlin"))
    fc = Forecaster(**sections).fit(df)
    out = fc.predict(3)
    if kind == "steps":
        assert list(out["ds"]) == [1240, 1241, 1242] and out["ds"].dtype == df["ds"].dtype
    else:
        assert str(out["ds"].dt.tz) == "Europe/Berlin" and out["ds"].dt.month.tolist() == [1, 2, 3]
    fc.save(tmp_path / "model.pt")
    assert Forecaster.load(tmp_path / "model.pt").predict(3).equals(out)


def test_ingest_options_apply_to_a_frame_and_the_callers_random_state_is_kept(small):
    import torch

    sections, df = small
    shuffled = df.sample(frac=1.0, random_state=0)
    with pytest.raises(UserError, match=r"^ingest.sort=False: .*rows are not in time order"):
        Forecaster(**sections).fit(shuffled)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    fc = Forecaster(**sections, ingest={"sort": True}).fit(shuffled)
    assert torch.equal(torch.rand(3), expected)  # training seeds its own generator, not the caller's
    assert fc.predict().equals(Forecaster(**sections).fit(df).predict())
    part = Forecaster(**sections, ingest={"start": 12}).fit(df).predict()
    assert part["ds"].equals(fc.predict()["ds"]) and not part["forecast"].equals(fc.predict()["forecast"])


def test_cross_validation_names_the_params_key_a_fold_cannot_hold(small):
    sections, df = small
    fc = Forecaster(**sections).fit(df)
    with pytest.raises(UserError, match=r"^crossval.folds=9: fold 1 of 9 would leave 0 training values"):
        fc.cross_validation(folds=9)
    longer = Forecaster(**sections | {"normalize": {"train": 0.7, "val": 0.15, "test": 0.15},
                                      "window": {"time_step": 30, "calendar": []}}).fit(df)
    with pytest.raises(UserError, match=r"^window.time_step=30: .*; in crossval fold 1 of 5 \(training span 24\)"):
        longer.cross_validation(folds=5)  # 5 folds of 36 test values leave the first 24 training values
    empty = fc.cross_validation(folds=0)
    assert len(empty) == 0 and "mase" in empty.columns and empty.attrs["summary"] == {"folds": 0}


def test_settings_are_params_sections_with_the_stages_errors():
    shipped = Settings.from_file(ROOT / "params.yaml")
    for section in ("normalize", "window", "train", "crossval", "forecast"):  # the defaults are params.yaml's
        assert getattr(Forecaster().settings, section) == getattr(shipped, section), section
    assert Forecaster(train={"hidden_size": 32}).settings.train.hidden_size == 32
    with pytest.raises(UserError, match=r"^train.hidden_size=0 should be >= 1$"):
        Forecaster(train={"hidden_size": 0})
    with pytest.raises(UserError, match=r"^unknown param 'train.hiden_size'; did you mean 'train.hidden_size'"):
        Forecaster(train={"hiden_size": 32})
    with pytest.raises(UserError, match=r"^unknown params section 'trian' \(valid sections: ingest, normalize, window, "):
        Forecaster(trian={"epochs": 1})
    reference = Forecaster.reference(train={"epochs": 2}).settings
    assert reference.train.hidden_size == REFERENCE["train"]["hidden_size"] and reference.train.epochs == 2
    assert reference.window.time_step == 96 and reference.evaluate.interval_method == "split"


def test_a_frame_of_several_series_or_without_the_columns_is_one_clear_error():
    two = pd.concat([long_frame(sine_series(), "a"), long_frame(sine_series(), "b")])
    fc = Forecaster(train={"epochs": 1})
    with pytest.raises(ArgumentError, match=r"^df='2 series': the frame holds several series \(unique_id 'a', 'b'\); "
                                            r"a Forecaster fits one series for now: select one"):
        fc.fit(two)
    with pytest.raises(ArgumentError, match=r"^target_col='sales': not a column of the frame; its columns: "
                                            r"unique_id, ds, y$"):
        fc.fit(long_frame(sine_series()), target_col="sales")
    with pytest.raises(ArgumentError, match=r"^Forecaster='not fitted': predict needs fit\(df\) first$"):
        fc.predict()


def test_a_saved_model_of_another_layout_is_refused_in_one_line(small, tmp_path):
    import torch

    sections, df = small
    fc = Forecaster(**sections).fit(df)
    fc.save(tmp_path / "model.pt")
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    assert ckpt["forecaster"]["layout"] == 1 and ckpt["forecaster"]["history"]["id"] == "s1"
    ckpt["forecaster"]["layout"] = 0
    with open(tmp_path / "old.pt", "wb") as f:
        torch.save(ckpt, f)
    with pytest.raises(UserError, match=r"^load.path='.*old.pt': a forecasting model of layout 0; this version "
                                        r"reads layout 1$"):
        Forecaster.load(tmp_path / "old.pt")
