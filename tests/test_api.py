"""The library's Forecaster against the stages: the same settings give the same numbers, byte for byte where the
stages write them, because they are one code path; its own errors are one line naming what to change."""
from __future__ import annotations

import json

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
    later = long_frame(sine_series(252))  # a year more of the same series
    moved = fc.predict(3, df=later)
    assert list(moved["ds"].dt.strftime("%Y-%m")) == ["2021-01", "2021-02", "2021-03"]
    with pytest.raises(UserError, match=r"^forecast.steps=13: the bands were calibrated for steps 1..12; ask for "):
        fc.predict(13)
    with pytest.raises(UserError, match=r"^forecast.levels=\[90.0\]: has no calibrated band; calibrated: 80, 95"):
        fc.predict(level=[90])
    fc.save(tmp_path / "model.pt")
    assert Forecaster.load(tmp_path / "model.pt").predict().equals(fc.predict())


def test_settings_are_params_sections_with_the_stages_errors():
    assert Forecaster().settings == Settings()
    assert Forecaster(train={"hidden_size": 32}).settings.train.hidden_size == 32
    with pytest.raises(UserError, match=r"^train.hidden_size=0 should be >= 1$"):
        Forecaster(train={"hidden_size": 0})
    with pytest.raises(UserError, match=r"^unknown param 'train.hiden_size'; did you mean 'train.hidden_size'"):
        Forecaster(train={"hiden_size": 32})
    with pytest.raises(UserError, match=r"^unknown params section 'trian' \(valid sections: normalize, window, "):
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
