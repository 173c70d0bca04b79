import json

import numpy as np
import pandas as pd
import pytest

from pipeline import metrics
from pipeline.evaluate import main
from tests.conftest import SMALL_PARAMS, run_stages, stage_argv, write_params


def test_metrics_by_hand():
    actual = np.array([1.0, 2.0, 4.0, 0.0])
    predicted = np.array([2.0, 2.0, 1.0, 0.0])
    assert metrics.rmse(actual, predicted) == pytest.approx(np.sqrt((1 + 0 + 9 + 0) / 4))
    assert metrics.mae(actual, predicted) == 1.0
    # sMAPE terms: 2*1/3, 0, 2*3/5, and 0/0 counted as 0.
    assert metrics.smape(actual, predicted) == pytest.approx(100 * (2 / 3 + 6 / 5) / 4)
    assert metrics.naive_scale(np.array([1.0, 3.0, 2.0, 2.0])) == 1.0  # |2| + |1| + |0| over 3
    assert metrics.mase(actual, predicted, 0.5) == 2.0


def test_baselines_look_back_the_right_distance():
    series = np.arange(10.0) * 10
    targets = np.array([5, 9])
    assert metrics.persistence(series, targets).tolist() == [40.0, 80.0]
    assert metrics.seasonal_naive(series, targets, 3).tolist() == [20.0, 60.0]


def test_evaluate_scores_the_same_points_for_every_model(tiny_project):
    run_stages()
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    series = pd.read_csv(tiny_project / "series.csv")["level"].to_numpy()
    assert list(results) == sorted(results)
    assert list(table.columns) == ["t", "time", "split", "actual", "predicted"]
    # 240 points: val = 144..191, test = 192..239.
    assert table["t"].tolist() == list(range(144, 240))
    assert results["val_points"] == 48 and results["test_points"] == 48
    test = table[table["split"] == "test"]
    assert np.allclose(test["actual"], series[192:240])
    scale = np.mean(np.abs(np.diff(series[:144])))
    assert results["mase_scale"] == pytest.approx(scale)
    persistence_mae = np.mean(np.abs(series[192:240] - series[191:239]))
    assert results["test_persistence_mae"] == pytest.approx(persistence_mae)
    assert results["test_persistence_mase"] == pytest.approx(persistence_mae / scale)
    seasonal_rmse = np.sqrt(np.mean((series[192:240] - series[168:216]) ** 2))
    assert results["test_seasonal_naive_rmse"] == pytest.approx(seasonal_rmse)
    lstm_rmse = np.sqrt(np.mean((test["actual"] - test["predicted"]) ** 2))
    assert results["test_lstm_rmse"] == pytest.approx(lstm_rmse, rel=1e-5)  # CSV keeps 6 decimals
    for split in ("val", "test"):
        for model in ("lstm", "persistence", "seasonal_naive"):
            for metric in metrics.METRICS:
                assert np.isfinite(results[f"{split}_{model}_{metric}"])


def test_rerun_is_byte_identical(tiny_project):
    run_stages()
    first = (tiny_project / "metrics" / "evaluate.json").read_bytes()
    predictions = (tiny_project / "metrics" / "predictions.csv").read_bytes()
    run_stages(["train", "evaluate"])
    assert (tiny_project / "metrics" / "evaluate.json").read_bytes() == first
    assert (tiny_project / "metrics" / "predictions.csv").read_bytes() == predictions


def test_season_reaching_before_the_series(tiny_project, capsys):
    run_stages(["ingest", "normalize", "window", "train"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "evaluate": {"season": 500}})
    assert main(stage_argv("evaluate")) == 2
    assert "error: evaluate.season=500 reaches before the start of the series: the first scored point is t=144" \
        in capsys.readouterr().err
    assert not (tiny_project / "metrics" / "evaluate.json").exists()


def test_model_trained_on_other_windows_is_refused(tiny_project, capsys):
    run_stages(["ingest", "normalize", "window", "train"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "window": {"time_step": 6}})
    run_stages(["window"])
    assert main(stage_argv("evaluate")) == 2
    err = capsys.readouterr().err
    assert "models/model.pt was trained on windows of time_step=12, target='sequence' but data/windows.json has " \
           "time_step=6" in err
    assert not (tiny_project / "metrics" / "evaluate.json").exists()
