"""Cross-validation: expanding-window folds that never overlap, each rebuilt from its own training span, the
last equal to today's split."""
import json

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import ArgumentError
from lstm_forecast.evaluation.folds import summarise
from lstm_forecast.prep.splits import fold_splits, scale_series, split_bounds
from pipeline.crossval import main
from tests.helpers import SMALL_PARAMS, run_stages, stage_argv, write_params

FRACTIONS = (0.6, 0.2, 0.2)


def test_folds_are_consecutive_disjoint_and_end_with_todays_split():
    plans = fold_splits(240, FRACTIONS, 3)
    assert [length for length, _ in plans] == [144, 192, 240]
    tests = [splits["test"] for _, splits in plans]
    assert tests == [(96, 144), (144, 192), (192, 240)]  # consecutive, disjoint, ending at the end
    for length, splits in plans:
        assert splits["train"][0] == 0 and splits["train"][1] == splits["val"][0]
        assert splits["val"][1] == splits["test"][0] and splits["test"][1] == length
        assert splits["val"][1] - splits["val"][0] == 48
    assert plans[-1] == (240, split_bounds(240, FRACTIONS))
    assert fold_splits(240, FRACTIONS, 0) == []


def test_too_many_folds_is_refused_with_the_numbers():
    with pytest.raises(ArgumentError, match=r"^folds=5: fold 1 of 5 would leave 0 training values \(series of 240, "
                                            r"validation 48 and test 48 values per fold\)$"):
        fold_splits(240, FRACTIONS, 5)


def test_each_folds_scaler_sees_only_its_training_span():
    values = np.random.default_rng(0).normal(10, 2, 240)
    (length, splits), *_ = fold_splits(240, FRACTIONS, 3)
    _, before = scale_series(pd.DataFrame({"value": values[:length]}), splits, "zscore", False)
    changed = values.copy()
    changed[splits["train"][1] :] = 1e6  # everything after the fold's training span
    _, after = scale_series(pd.DataFrame({"value": changed[:length]}), splits, "zscore", False)
    assert after.scaler == before.scaler
    changed[splits["train"][1] - 1] = 1e6
    _, touched = scale_series(pd.DataFrame({"value": changed[:length]}), splits, "zscore", False)
    assert touched.scaler != before.scaler


def test_the_last_fold_scores_exactly_what_evaluate_scores(tiny_project):
    run_stages()
    evaluate = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    crossval = json.loads((tiny_project / "metrics" / "crossval.json").read_text())
    models = ("lstm", "persistence", "seasonal_naive", "linear")
    for model in models:
        for metric in ("rmse", "mae", "smape", "mase"):
            assert crossval[f"fold3_{model}_{metric}"] == evaluate[f"test_{model}_{metric}"], (model, metric)
            folds = [crossval[f"fold{k}_{model}_{metric}"] for k in (1, 2, 3)]
            assert crossval[f"crossval_{model}_{metric}_mean"] == pytest.approx(np.mean(folds))
            assert crossval[f"crossval_{model}_{metric}_sd"] == pytest.approx(np.std(folds, ddof=1))
    assert crossval["fold3_lstm_vs_linear_dm_p"] == evaluate["test_lstm_vs_linear_dm_p"]
    assert len({crossval[f"fold{k}_lstm_rmse"] for k in (1, 2, 3)}) == 3  # three different models and spans
    table = pd.read_csv(tiny_project / "metrics" / "crossval.csv")
    assert list(table.columns) == ["fold", "linear", "lstm", "persistence", "seasonal_naive"]
    assert table["lstm"].tolist() == pytest.approx([crossval[f"fold{k}_lstm_mase"] for k in (1, 2, 3)], abs=1e-6)


def test_folds_zero_turns_it_off_and_too_many_is_one_line(tiny_project, capsys):
    run_stages(["ingest"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "crossval": {"folds": 0}})
    assert main(stage_argv("crossval")) == 0
    assert json.loads((tiny_project / "metrics" / "crossval.json").read_text()) == {"folds": 0}
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "crossval": {"folds": 9}})
    assert main(stage_argv("crossval")) == 2
    assert capsys.readouterr().err == (
        "error: crossval.folds=9: fold 1 of 9 would leave 0 training values (series of 240, validation 48 and test "
        "48 values per fold); lower crossval.folds, or give the series more rows\n")


def test_the_summary_keeps_no_per_step_scores():
    folds = [{"lstm_mase": 1.0, "lstm_mase_h1": 0.5, "lstm_mase_h2": 1.5, "lstm_rmse": 2.0, "lstm_mae": 1.0,
              "lstm_smape": 10.0, "lstm_vs_linear_dm_p": 0.5}] * 2
    summary = summarise(folds, ["lstm"])
    assert "fold1_lstm_mase" in summary and not [key for key in summary if "_h1" in key or "_h2" in key]
    assert summary["crossval_lstm_mase_mean"] == 1.0 and summary["crossval_lstm_mase_sd"] == 0.0
