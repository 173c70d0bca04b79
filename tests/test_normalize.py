import json
import re

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.data.artifacts import Normalization
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.prep.scaling import fit_scaler
from lstm_forecast.prep.splits import normalize_series, split_bounds
from pipeline.normalize import main
from tests.helpers import write_params

DEFAULT = (0.7, 0.15, 0.15)  # params.yaml's train / val / test fractions


def test_split_bounds_are_chronological_and_cover_the_series():
    assert split_bounds(10, (0.6, 0.2, 0.2)) == {"train": (0, 6), "val": (6, 8), "test": (8, 10)}
    # Default fractions on the shipped series; 2820 * 0.7 is 1973.9999999999998 in floating point.
    assert split_bounds(2820, DEFAULT) == {"train": (0, 1974), "val": (1974, 2397), "test": (2397, 2820)}
    # Rounding down otherwise; test takes the remainder.
    assert split_bounds(101, DEFAULT) == {"train": (0, 70), "val": (70, 85), "test": (85, 101)}


def test_zscore_uses_training_statistics_only():
    series = pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0, 100.0]})
    out, info = normalize_series(series, (0.6, 0.2, 0.2), "zscore", False)
    # train = [1, 2, 3]: mean 2, population std sqrt(2/3)
    assert info.scaler.to_json() == {"method": "zscore", "mean": 2.0, "std": pytest.approx(np.sqrt(2 / 3))}
    assert out["scaled"].iloc[:3].tolist() == pytest.approx([-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    assert out["split"].tolist() == ["train", "train", "train", "val", "test"]


def test_minmax_and_inverse():
    series = pd.DataFrame({"value": [2.0, 4.0, 6.0, 10.0, 0.0]})
    out, info = normalize_series(series, (0.6, 0.2, 0.2), "minmax", False)
    assert info.scaler.to_json() == {"method": "minmax", "min": 2.0, "max": 6.0}
    assert out["scaled"].tolist() == [0.0, 0.5, 1.0, 2.0, -0.5]
    scaler = info.scaler
    assert scaler.inverse(out["scaled"].to_numpy()).tolist() == series["value"].tolist()


def test_no_leakage_changing_values_after_the_training_span_keeps_the_scaler():
    rng = np.random.default_rng(3)
    values = rng.normal(10, 2, 100)
    _, before = normalize_series(pd.DataFrame({"value": values}), DEFAULT, "zscore", False)
    changed = values.copy()
    changed[70:] = 1e6
    _, after = normalize_series(pd.DataFrame({"value": changed}), DEFAULT, "zscore", False)
    assert after.scaler == before.scaler
    changed[69] = 1e6  # the last training value does count
    _, touched = normalize_series(pd.DataFrame({"value": changed}), DEFAULT, "zscore", False)
    assert touched.scaler != before.scaler


def test_constant_training_span_is_a_user_error():
    with pytest.raises(ArgumentError, match=r"^method='zscore': the training span \(3 values\) is constant"):
        fit_scaler(np.array([5.0, 5.0, 5.0]), "zscore")


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"train": 0.7, "val": 0.2, "test": 0.2}, r"0.7 \+ 0.2 \+ 0.2 = 1.1; they should sum to 1"),
        ({"train": 1.0, "val": 0.0, "test": 0.0}, r"normalize.train=1.0 should be a fraction between 0 and 1"),
        ({"method": "robust"}, r"normalize.method='robust' is not valid; choose one of: zscore, minmax"),
        ({"train": 0.9, "val": 0.04, "test": 0.06}, r"series of 20 values is too short for the splits "
                                                     r"train/val/test = 18/0/2"),
    ],
)
def test_bad_params(in_tmp, capsys, raw, message):
    pd.DataFrame({"value": np.arange(20.0)}).to_parquet(in_tmp / "series.parquet")
    write_params(in_tmp / "params.yaml", {"normalize": raw})
    assert main(["--series", "series.parquet", "--out", "data/scaled.parquet", "--stats", "data/stats.json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ")
    assert re.search(message, err), err
    assert not (in_tmp / "data" / "scaled.parquet").exists() and not (in_tmp / "data" / "stats.json").exists()


def test_too_short_for_splits():
    with pytest.raises(UserError, match=r"series of 3 values is too short for the splits train/val/test = 2/0/1"):
        split_bounds(3, DEFAULT)


def test_main_writes_series_and_stats(in_tmp):
    pd.DataFrame({"value": np.arange(20.0)}).to_parquet(in_tmp / "series.parquet")
    write_params(in_tmp / "params.yaml", {"normalize": {"train": 0.5, "val": 0.25, "test": 0.25, "difference": False}})
    assert main(["--series", "series.parquet", "--out", "data/scaled.parquet", "--stats", "data/stats.json"]) == 0
    stats = json.loads((in_tmp / "data" / "stats.json").read_text())
    assert stats["splits"] == {"train": [0, 10], "val": [10, 15], "test": [15, 20]}
    assert stats["scaler"]["mean"] == 4.5
    assert list(pd.read_parquet(in_tmp / "data" / "scaled.parquet").columns) == ["value", "scaled", "split"]


def test_differencing_scales_the_changes_fitted_on_the_training_span():
    series = pd.DataFrame({"value": [1.0, 3.0, 4.0, 8.0, 9.0, 100.0, 50.0, 0.0, 1.0, 2.0]})
    out, info = normalize_series(series, (0.6, 0.2, 0.2), "zscore", True)
    # training span = values 0..5; its changes (the first point has none) are 2, 1, 4, 1, 91
    changes = np.array([2.0, 1.0, 4.0, 1.0, 91.0])
    assert info.difference is True
    assert info.scaler.offset == pytest.approx(changes.mean()) and info.scaler.scale == pytest.approx(changes.std())
    assert out["scaled"].iloc[6] == pytest.approx((-50.0 - changes.mean()) / changes.std())
    assert out["scaled"].iloc[0] == pytest.approx((0.0 - changes.mean()) / changes.std())


def test_an_outlier_is_found_against_the_training_span_and_clipped_for_the_model_only():
    from lstm_forecast.prep.outliers import OUTLIER_MADS, find_outliers
    from lstm_forecast.prep.splits import scale_and_flag

    values = np.array([10.0, 11, 9, 10, 12, 8, 10, 11, 9, 10, 1e6, 10, 11, 9, 10, 10, 11, 9, 10, 500])
    found = find_outliers(values, (0, 12))
    # Median 10, MAD 1 (x 1.4826): bounds 10 +- 25 x 1.4826; 1e6 at 10 (training) and 500 at 19 (test).
    assert found.positions.tolist() == [10, 19]
    assert found.bounds == pytest.approx((10 - OUTLIER_MADS * 1.4826, 10 + OUTLIER_MADS * 1.4826))
    bounds = {"train": (0, 12), "val": (12, 16), "test": (16, 20)}
    frame = pd.DataFrame({"value": values})
    kept, keep_norm, _ = scale_and_flag(frame, bounds, "zscore", False, "keep")
    clipped, clip_norm, _ = scale_and_flag(frame, bounds, "zscore", False, "clip")
    assert keep_norm.clip is None and clip_norm.clip == found.bounds
    # The clip keeps the scaler to the span's own spread; kept, the outlier's 1e6 swamps it.
    assert clip_norm.scaler.scale < 12 < keep_norm.scaler.scale
    assert clipped["scaled"].max() == pytest.approx(clip_norm.scaler.transform(np.array([found.bounds[1]]))[0])
    assert (clipped["value"] == values).all()  # the values the scores read are untouched
    # Written and read back, the clip travels with the normalization (predict and the forecast stage use it).
    assert Normalization.from_json(clip_norm.to_json()).clip == clip_norm.clip
    # A constant training span has no spread to judge by: nothing is flagged.
    assert find_outliers(np.array([5.0] * 8 + [9.0]), (0, 8)).positions.tolist() == []


def test_a_spike_does_not_decide_the_difference_test_under_clip():
    from lstm_forecast.prep.outliers import calm_levels

    rng = np.random.default_rng(0)
    walk = 100 + np.cumsum(rng.normal(0, 1, 200))  # a random walk: KPSS says difference
    spiked = walk.copy()
    spiked[60] = 1e6
    # The spike is replaced by its neighbours' mean; a level shift (one outlying change) and the rest stay.
    calm = calm_levels(spiked)
    assert calm[60] == pytest.approx((walk[59] + walk[61]) / 2) and np.array_equal(np.delete(calm, 60),
                                                                                  np.delete(walk, 60))
    shifted = np.concatenate([walk[:100], walk[100:] + 500])
    assert np.array_equal(calm_levels(shifted), shifted)
    ending = walk.copy()
    ending[-1] = 1e6
    assert calm_levels(ending)[-1] == walk[-2]
    bounds = {"train": (0, 140), "val": (140, 170), "test": (170, 200)}
    choice = {policy: normalize_series_at(spiked, bounds, policy).difference for policy in ("clip", "keep")}
    assert normalize_series_at(walk, bounds, "keep").difference is True
    assert choice == {"clip": True, "keep": False}  # kept, one 1e6 makes a random walk look level-stationary


def normalize_series_at(values, bounds, policy):
    from lstm_forecast.prep.splits import scale_series

    return scale_series(pd.DataFrame({"value": values}), bounds, "zscore", "auto", policy)[1]
