import collections
import json

import numpy as np
import pandas as pd
import pytest
import torch

from lstm_forecast.evaluation import metrics
from pipeline.evaluate import main
from lstm_forecast.data.artifacts import Normalization, WindowIndex
from lstm_forecast.evaluation.backtest import backtest
from lstm_forecast.model.checkpoint import load_checkpoint
from lstm_forecast.errors import UserError
from lstm_forecast.config.params import parse_section
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.evaluation.scoring import score_splits, skill
from lstm_forecast.evaluation.significance import diebold_mariano
from lstm_forecast.prep.splits import normalize_series
from tests.helpers import SMALL_PARAMS, run_stages, stage_argv, write_params


def test_metrics_by_hand():
    actual = np.array([1.0, 2.0, 4.0, 0.0])
    predicted = np.array([2.0, 2.0, 1.0, 0.0])
    assert metrics.rmse(actual, predicted) == pytest.approx(np.sqrt((1 + 0 + 9 + 0) / 4))
    assert metrics.mae(actual, predicted) == 1.0
    # sMAPE terms: 2*1/3, 0, 2*3/5, and 0/0 counted as 0.
    assert metrics.smape(actual, predicted) == pytest.approx(100 * (2 / 3 + 6 / 5) / 4)
    assert metrics.naive_scale(np.array([1.0, 3.0, 2.0, 2.0])) == 1.0  # |2| + |1| + |0| over 3
    assert metrics.mase(actual, predicted, 0.5) == 2.0


def test_ratio_metrics_on_a_constant_span():
    flat, zeros = np.full(6, 5.0), np.zeros(6)
    # sMAPE: 0/0 counts as no error; a constant span forecast exactly scores 0, one forecast as 0 scores 200.
    assert metrics.smape(flat, flat) == 0.0 and metrics.smape(zeros, zeros) == 0.0
    assert metrics.smape(flat, zeros) == 200.0
    # MASE: a constant scored span is fine; a constant training span has no scale (normalize refuses it first).
    assert metrics.mase(flat, flat, 2.0) == 0.0 and metrics.mase(flat, flat + 1, 2.0) == 0.5
    assert metrics.naive_scale(flat) == 0.0
    with pytest.raises(ValueError, match=r"^scale=0\.0: should be > 0, the mean absolute one-step change of a "
                                         r"training span that is not constant; MASE is undefined without it$"):
        metrics.mase(flat, flat, 0.0)
    # Skill: undefined (None) where persistence is exact, whatever the LSTM scored.
    assert skill(0.5, 1.0) == 0.5 and skill(0.0, 0.0) is None and skill(0.3, 0.0) is None


def constant_runs(value: float, n: int = 20) -> dict[str, dict]:
    """Backtest runs over a constant span: persistence exact, the other models off by fixed amounts."""
    actual = np.full((n, 1), value)
    forecasts = {"lstm": actual + 0.5, "persistence": actual.copy(), "seasonal_naive": actual - 1.0,
                 "linear": actual.copy()}
    return {split: {"origins": np.arange(n), "actual": actual, "forecasts": dict(forecasts),
                    "volatility": np.ones(n)} for split in ("val", "test")}


@pytest.mark.parametrize("value", [0.0, 7.0])
def test_scores_of_a_constant_span_are_finite_and_leave_skill_out(value):
    results = score_splits(constant_runs(value), scale=2.0, level=0.9)
    json.dumps(results, allow_nan=False)  # no NaN or infinity reaches the metrics file
    assert "val_lstm_skill" not in results and "test_lstm_skill" not in results
    assert results["test_persistence_mase"] == 0.0 and results["test_lstm_mase"] == 0.25
    assert results["test_persistence_smape"] == 0.0 and results["test_linear_smape"] == 0.0
    assert results["test_lstm_smape"] == pytest.approx(200 * 0.5 / (2 * value + 0.5))
    # Every LSTM residual is 0.5, so the conformal half-width is 0.5 and every test point is covered.
    assert results["test_lstm_coverage"] == 1.0 and results["test_lstm_width"] == 1.0


def test_evaluate_on_a_constant_validation_and_test_span(tiny_project, caplog):
    """The series goes flat before the validation span starts (at 144), so persistence is exact on both."""
    frame = pd.read_csv(tiny_project / "series.csv")
    frame.loc[130:, "level"] = 42.0
    frame.to_csv(tiny_project / "series.csv", index=False)
    run_stages()
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    assert all(np.isfinite(value) for value in results.values())
    assert not any(key.endswith("_skill") for key in results)
    assert results["val_persistence_mase"] == 0.0 and results["test_persistence_smape"] == 0.0
    assert 0.0 <= results["test_lstm_coverage"] <= 1.0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and r.name == "evaluate"]
    assert warnings == [f"{split}_lstm_skill left out of the metrics: persistence is exact on the {split} span "
                        "(MASE 0, as on a constant span), so there is no error to measure skill against"
                        for split in ("val", "test")]


def test_evaluate_scores_the_same_points_for_every_model(tiny_project):
    run_stages()
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    series = pd.read_csv(tiny_project / "series.csv")["level"].to_numpy()
    assert list(results) == sorted(results)
    assert list(table.columns) == ["origin", "time", "split", "actual", "predicted", "lower", "upper"]
    # 240 points: val = 144..191, test = 192..239.
    assert table["origin"].tolist() == list(range(144, 240))
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
        for model in ("lstm", "persistence", "seasonal_naive", "linear"):
            for metric in metrics.METRICS:
                assert np.isfinite(results[f"{split}_{model}_{metric}"])
        skill = 1 - results[f"{split}_lstm_mase"] / results[f"{split}_persistence_mase"]
        assert results[f"{split}_lstm_skill"] == pytest.approx(skill)
    assert not any(key.endswith("_h1") for key in results)  # horizon 1: no per-step keys
    # The interval is the forecast +- one half-width, and the coverage counts the test points inside it.
    # Its width is proportional to the recent volatility: mean |one-step change| over the 12 steps before t.
    widths = (table["upper"] - table["lower"]).to_numpy()
    volatility = np.array([max(np.mean(np.abs(np.diff(series[t - 13 : t]))), 0.1 * scale) for t in table["origin"]])
    assert np.allclose(widths / volatility, (widths / volatility)[0], rtol=1e-4)
    assert results["test_lstm_width"] == pytest.approx(widths[table["split"] == "test"].mean(), rel=1e-5)
    inside = (test["actual"] >= test["lower"] - 1e-5) & (test["actual"] <= test["upper"] + 1e-5)
    assert results["test_lstm_coverage"] == pytest.approx(inside.mean(), abs=1 / 48)
    by_step = pd.read_csv(tiny_project / "metrics" / "horizon.csv")
    assert list(by_step.columns) == ["h", "lstm", "persistence", "seasonal_naive", "linear"]
    assert by_step["persistence"].iloc[0] == pytest.approx(results["test_persistence_rmse"], abs=1e-6)


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_multi_step_horizon_reports_every_step(tiny_project, strategy):
    params = {**SMALL_PARAMS, "window": {**SMALL_PARAMS["window"], "horizon": 3},
              "train": {**SMALL_PARAMS["train"], "strategy": strategy},
              "evaluate": {**SMALL_PARAMS["evaluate"], "season": 24, "stride": 2},
              "forecast": {"steps": 3}}  # a direct model forecasts at most its horizon
    write_params(tiny_project / "params.yaml", params)
    run_stages()
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    series = pd.read_csv(tiny_project / "series.csv")["level"].to_numpy()
    # test span 192..239; origins t in [192, 238) every 2nd: 192, 194, ..., 236
    origins = np.arange(192, 238, 2)
    assert results["test_points"] == len(origins) == 23
    for h in (1, 2, 3):
        persistence_mae = np.mean(np.abs(series[origins + h - 1] - series[origins - 1]))
        assert results[f"test_persistence_mae_h{h}"] == pytest.approx(persistence_mae)
        # Coverage is a count of the 23 test origins whose step-h interval holds the actual value.
        covered = results[f"test_lstm_coverage_h{h}"] * 23
        assert covered == pytest.approx(round(covered))
    coverage = [results[f"test_lstm_coverage_h{h}"] for h in (1, 2, 3)]
    assert results["test_lstm_coverage"] == pytest.approx(np.mean(coverage))
    table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    test = table[table["split"] == "test"]
    assert test["origin"].tolist() == origins.tolist()
    inside = (test["lower"] <= test["actual"]) & (test["actual"] <= test["upper"])  # step 1, from the table
    assert results["test_lstm_coverage_h1"] == pytest.approx(inside.mean())
    mean_rmse = np.mean([results[f"test_lstm_rmse_h{h}"] for h in (1, 2, 3)])
    assert results["test_lstm_rmse"] == pytest.approx(mean_rmse)
    by_step = pd.read_csv(tiny_project / "metrics" / "horizon.csv")
    assert by_step["h"].tolist() == [1, 2, 3]
    assert by_step["lstm"].tolist() == pytest.approx([results[f"test_lstm_rmse_h{h}"] for h in (1, 2, 3)], abs=1e-6)


def test_rerun_is_byte_identical(tiny_project):
    run_stages()
    first = (tiny_project / "metrics" / "evaluate.json").read_bytes()
    predictions = (tiny_project / "metrics" / "predictions.csv").read_bytes()
    run_stages(["train", "evaluate"])
    assert (tiny_project / "metrics" / "evaluate.json").read_bytes() == first
    assert (tiny_project / "metrics" / "predictions.csv").read_bytes() == predictions


def test_a_season_shorter_than_the_horizon_names_both_keys(tiny_project, capsys):
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "window": {**SMALL_PARAMS["window"], "horizon": 3}})
    run_stages(["ingest", "normalize", "window", "train"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "window": {**SMALL_PARAMS["window"], "horizon": 3},
                                                "evaluate": {**SMALL_PARAMS["evaluate"], "season": 2}})
    assert main(stage_argv("evaluate")) == 2
    assert capsys.readouterr().err == ("error: window.horizon=3 is longer than evaluate.season=2: the seasonal naive "
                                       "forecast would read values after its origin; use a season >= horizon, or "
                                       "window.horizon <= 2\n")
    # season: auto on rows taken as plain steps (no frequency) is 1: the error shows both.
    params = {**SMALL_PARAMS, "ingest": {**SMALL_PARAMS["ingest"], "freq": "none"},
              "window": {**SMALL_PARAMS["window"], "horizon": 3},
              "evaluate": {**SMALL_PARAMS["evaluate"], "season": "auto"}}
    write_params(tiny_project / "params.yaml", params)
    run_stages(["ingest"])
    assert main(stage_argv("evaluate")) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: window.horizon=3 is longer than evaluate.season=auto (1): the seasonal naive forecast would read "
        "values after its origin; use a season >= horizon, or window.horizon <= 1")


def test_season_reaching_before_the_series(tiny_project, capsys):
    run_stages(["ingest", "normalize", "window", "train"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "evaluate": {**SMALL_PARAMS["evaluate"],
                                                                             "season": 500}})
    assert main(stage_argv("evaluate")) == 2
    assert capsys.readouterr().err == ("error: evaluate.season=500: reaches before the start of the series: the first "
                                       "scored origin is 144; use a season <= 144\n")
    assert not (tiny_project / "metrics" / "evaluate.json").exists()


def test_model_trained_on_other_windows_is_refused(tiny_project, capsys):
    run_stages(["ingest", "normalize", "window", "train"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "window": {**SMALL_PARAMS["window"], "time_step": 6}})
    run_stages(["window"])
    assert main(stage_argv("evaluate")) == 2
    err = capsys.readouterr().err
    assert "models/model.pt was trained on windows of (time_step, target, horizon, scale_windows, calendar) = " \
           "(12, 'sequence', 1, False, ()) but data/windows.json has (6, 'sequence', 1, False, ())" in err
    assert not (tiny_project / "metrics" / "evaluate.json").exists()


def test_constant_width_interval_with_window_zero(tiny_project):
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "evaluate": {**SMALL_PARAMS["evaluate"], "season": 24,
                                                                             "interval_window": 0}})
    run_stages()
    table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    val = table[table["split"] == "val"]
    widths = (table["upper"] - table["lower"]).to_numpy()
    assert np.allclose(widths, widths[0], atol=2e-6)
    # Plain split conformal, by hand: 48 validation residuals, level 0.9 -> k = ceil(49 * 0.9) = 45th smallest.
    residuals = np.sort(np.abs(val["actual"] - val["predicted"]).to_numpy())
    assert widths[0] / 2 == pytest.approx(residuals[44], abs=2e-5)


def test_differenced_model_is_scored_in_levels(tiny_project):
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "normalize": {**SMALL_PARAMS["normalize"],
                                                                              "difference": True}})
    run_stages()
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    series = pd.read_csv(tiny_project / "series.csv")["level"].to_numpy()
    assert np.allclose(table["actual"], series[table["origin"]])
    # Forecasts are levels near the series (values 10..90), not changes near 0.
    assert results["test_lstm_mae"] < 3 * results["test_persistence_mae"]
    assert results["test_linear_mae"] < 3 * results["test_persistence_mae"]


@pytest.mark.parametrize("difference, strategy", [(False, "recursive"), (True, "direct")])
def test_assembled_backtest_never_reads_after_an_origin(tiny_project, difference, strategy):
    params = {**SMALL_PARAMS, "normalize": {**SMALL_PARAMS["normalize"], "difference": difference},
              "window": {**SMALL_PARAMS["window"], "horizon": 3}, "train": {**SMALL_PARAMS["train"],
                                                                          "strategy": strategy},
              "forecast": {"steps": 3}}  # a direct model forecasts at most its horizon
    write_params(tiny_project / "params.yaml", params)
    run_stages(["ingest", "normalize", "window", "train"])
    norm = Normalization.read(tiny_project / "data" / "normalize.json")
    index = WindowIndex.read(tiny_project / "data" / "windows.json")
    model, _ = load_checkpoint(tiny_project / "models" / "model.pt")
    series = pd.read_parquet(tiny_project / "data" / "series.parquet")

    def run_backtest(frame):
        scaled, _ = normalize_series(frame, (0.6, 0.2, 0.2), "zscore", difference)
        return backtest(frame["value"].to_numpy(), scaled["scaled"].to_numpy(), norm, index, model, strategy,
                        EvaluateParams(season=24), scale=5.0)  # every baseline, the statistical ones too

    before = run_backtest(series)
    cut = 210  # an origin inside the test span
    changed = series.copy()
    changed.loc[cut:, "value"] += 100.0
    after = run_backtest(changed)
    for split in ("val", "test"):
        keep = before[split]["origins"] <= cut
        assert keep.any()
        np.testing.assert_array_equal(after[split]["volatility"][keep], before[split]["volatility"][keep])
        for name in before[split]["forecasts"]:
            np.testing.assert_array_equal(after[split]["forecasts"][name][keep], before[split]["forecasts"][name][keep])
    later = before["test"]["origins"] > cut + 1
    assert not np.array_equal(after["test"]["forecasts"]["lstm"][later], before["test"]["forecasts"]["lstm"][later])


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_evaluate_on_cuda_without_gpu_is_a_user_error(tiny_project, capsys):
    run_stages(["ingest", "normalize", "window", "train"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "evaluate": {**SMALL_PARAMS["evaluate"], "season": 24,
                                                                             "device": "cuda"}})
    assert main(stage_argv("evaluate")) == 2
    err = capsys.readouterr().err
    assert err == "error: evaluate.device='cuda': no CUDA GPU is available; use 'auto' or 'cpu'\n"
    assert not (tiny_project / "metrics" / "evaluate.json").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_evaluate_on_cuda_matches_cpu(tiny_project):
    run_stages()
    on_cpu = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    write_params(tiny_project / "params.yaml",
                 {**SMALL_PARAMS, "evaluate": {**SMALL_PARAMS["evaluate"], "device": "cuda"}})
    run_stages(["evaluate"])
    on_gpu = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    assert on_gpu.keys() == on_cpu.keys()
    assert on_gpu == pytest.approx(on_cpu, rel=1e-4, abs=1e-6)


def test_every_baseline_gets_a_diebold_mariano_p_value_against_the_lstm(tiny_project, caplog):
    with caplog.at_level("INFO"):
        run_stages()
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    test = table[table["split"] == "test"]
    series = pd.read_csv(tiny_project / "series.csv")["level"].to_numpy()
    origins = test["origin"].to_numpy()
    # H = 1: each origin's loss is its squared error; persistence forecasts the value before the origin.
    lstm = (test["predicted"].to_numpy() - test["actual"].to_numpy()) ** 2
    persistence = (series[origins - 1] - series[origins]) ** 2
    expected = diebold_mariano(lstm, persistence, 1).p_value
    assert results["test_lstm_vs_persistence_dm_p"] == pytest.approx(expected, rel=1e-4)
    assert {k for k in results if k.endswith("_dm_p")} == {f"test_lstm_vs_{m}_dm_p"
                                                           for m in ("persistence", "seasonal_naive", "linear")}
    line = next(r.message for r in caplog.records if "Diebold-Mariano" in r.message)
    for model in ("persistence", "seasonal_naive", "linear"):
        p = results[f"test_lstm_vs_{model}_dm_p"]
        assert (f"{model} no significant difference (p {p:.3f})" in line) == (p >= 0.05)


def test_the_winners_line_says_when_a_win_is_not_significant():
    from pipeline.evaluate import winner

    results = {"test_lstm_rmse": 2.0, "test_linear_rmse": 1.9, "test_lstm_vs_linear_dm_p": 0.3}
    expected = "rmse linear (no significant difference from the LSTM, p 0.300)"
    assert winner(results, ["lstm", "linear"], "rmse") == expected
    results["test_lstm_vs_linear_dm_p"] = 0.01
    assert winner(results, ["lstm", "linear"], "rmse") == "rmse linear"
    results["test_lstm_rmse"] = 1.0
    assert winner(results, ["lstm", "linear"], "rmse") == "rmse lstm"


def test_the_diebold_mariano_line_names_the_better_model():
    # "persistence better (p 0.003)" used to mean the LSTM was better: the winner is now named first.
    from pipeline.evaluate import verdict

    assert verdict("persistence", 1.0, 2.0, 0.003) == "LSTM better than persistence (p 0.003)"
    assert verdict("linear", 2.0, 1.0, 0.01) == "linear better than the LSTM (p 0.010)"
    assert verdict("linear", 2.0, 1.0, 0.3) == "linear no significant difference (p 0.300)"


def test_the_logged_diebold_mariano_line_names_the_winner_of_each_pair(caplog):
    from pipeline.evaluate import log_summary

    results = collections.defaultdict(lambda: 1.0, {
        "test_lstm_rmse": 2.0, "test_persistence_rmse": 3.0, "test_linear_rmse": 1.5,
        "test_lstm_vs_persistence_dm_p": 0.003, "test_lstm_vs_linear_dm_p": 0.02})
    with caplog.at_level("INFO"):
        log_summary(results, ["lstm", "persistence", "linear"], EvaluateParams())
    line = next(r.message for r in caplog.records if "Diebold-Mariano" in r.message)
    assert line.endswith(": LSTM better than persistence (p 0.003); linear better than the LSTM (p 0.020)")


def test_a_guard_warns_when_the_lstm_is_worse_than_persistence_on_validation(tiny_project, caplog):
    from pipeline.evaluate import guard

    assert guard({"val_lstm_mase": 0.9, "val_persistence_mase": 1.0}) is None
    assert guard({"val_lstm_mase": 0.1, "val_persistence_mase": 0.0}) is None  # a constant span: skill's warning
    assert guard({"val_lstm_mase": 1.2, "val_persistence_mase": 1.0}).startswith(
        "the LSTM is worse than persistence on validation (MASE 1.200 against 1.000): try normalize.difference: true")
    with caplog.at_level("INFO"):
        run_stages()  # 3 epochs on the small series: the LSTM does not beat persistence there
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    warned = [r for r in caplog.records if r.levelname == "WARNING" and "worse than persistence" in r.message]
    assert len(warned) == (results["val_lstm_mase"] > results["val_persistence_mase"]) == 1


@pytest.mark.parametrize("raw, message", [
    ({"interval_gamma": 1.5}, r"^evaluate\.interval_gamma=1\.5 should be a step size >= 0 and < 1 \(e\.g\. 0\.02\)$"),
    ({"interval_gamma": -0.01}, r"^evaluate\.interval_gamma=-0\.01 should be a step size >= 0 and < 1"),
    ({"interval_method": "aci"}, r"^evaluate\.interval_method='aci' is not valid; choose one of: split, adaptive$"),
])
def test_interval_params_are_checked(raw, message):
    with pytest.raises(UserError, match=message):
        parse_section(EvaluateParams, "evaluate", raw)
    valid = parse_section(EvaluateParams, "evaluate", {"interval_method": "adaptive", "interval_gamma": 0})
    assert (valid.interval_method, valid.interval_gamma) == ("adaptive", 0.0)


def test_season_is_auto_or_a_whole_number_of_steps():
    assert EvaluateParams().season == "auto"
    assert parse_section(EvaluateParams, "evaluate", {"season": "auto"}).season == "auto"
    assert parse_section(EvaluateParams, "evaluate", {"season": 12}).season == 12
    for value in (0, -1, "monthly"):
        with pytest.raises(UserError, match=rf"^evaluate\.season={value!r} should be a whole number of steps >= 1 "
                                            r"\(the seasonal lag\) or auto \(from the series' frequency\)$"):
            parse_section(EvaluateParams, "evaluate", {"season": value})
    with pytest.raises(UserError, match=r"^evaluate\.season=1\.5 should be a whole number$"):
        parse_section(EvaluateParams, "evaluate", {"season": 1.5})


def test_season_auto_is_resolved_from_the_frequency_and_a_given_season_wins():
    auto = EvaluateParams(stride=3)
    resolved, line = auto.resolve_season("MS")
    assert resolved == EvaluateParams(season=12, stride=3)
    assert line == "season auto: 12 for frequency MS (a year of MS steps)"
    resolved, line = auto.resolve_season(None)
    assert resolved.season == 1
    assert line == ("season auto: 1 (no season) for frequency None: the rows have no dates, so everything works in "
                    "steps; set evaluate.season to the period in steps if there is one")
    given = EvaluateParams(season=132)
    assert given.resolve_season("MS") == (given, None)


def test_the_stage_resolves_season_auto_from_series_json(tiny_project, caplog):
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "evaluate": {**SMALL_PARAMS["evaluate"],
                                                                             "season": "auto"}})
    with caplog.at_level("INFO"):
        run_stages(["ingest", "normalize", "window", "train", "evaluate"])
    logged = [r.getMessage() for r in caplog.records if r.name == "evaluate" and r.getMessage().startswith("season")]
    assert logged == ["season auto: 12 for frequency MS (a year of MS steps)"]
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    series = pd.read_csv(tiny_project / "series.csv")["level"].to_numpy()
    seasonal_rmse = np.sqrt(np.mean((series[192:240] - series[180:228]) ** 2))  # 12 months before each target
    assert results["test_seasonal_naive_rmse"] == pytest.approx(seasonal_rmse)


def test_adaptive_interval_through_the_stage(tiny_project, caplog):
    run_stages(["ingest", "normalize", "window", "train", "evaluate"])
    split = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    split_table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "evaluate": {
        **SMALL_PARAMS["evaluate"], "interval_method": "adaptive", "interval_gamma": 0.05}})
    with caplog.at_level("INFO"):
        run_stages(["evaluate"])
    results = json.loads((tiny_project / "metrics" / "evaluate.json").read_text())
    table = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    # Only the test interval changes: the forecasts, every other score and the validation band stay.
    assert {k for k in results if results[k] != split[k]} <= {"test_lstm_coverage", "test_lstm_width", "test_lstm_msis",
                                                               "test_lstm_pinball"}
    val, test = table["split"] == "val", table["split"] == "test"
    pd.testing.assert_frame_equal(table[val], split_table[val])
    assert not np.allclose(table.loc[test, "upper"], split_table.loc[test, "upper"])
    # At the first test origin nothing of the test span is observed yet: the split interval, exactly.
    assert table.loc[test, "upper"].iloc[0] == split_table.loc[test, "upper"].iloc[0]
    inside = (table["lower"] <= table["actual"]) & (table["actual"] <= table["upper"])
    assert results["test_lstm_coverage"] == pytest.approx(inside[test].mean(), abs=1 / 48)
    assert results["test_lstm_width"] == pytest.approx((table["upper"] - table["lower"])[test].mean(), rel=1e-5)
    # The interval score, from the table's own band and values: width plus 2 / alpha per unit outside, over MASE's scale.
    lower, upper, actual = (table.loc[test, c].to_numpy() for c in ("lower", "upper", "actual"))
    score = (upper - lower) + 20 * (np.maximum(lower - actual, 0) + np.maximum(actual - upper, 0))
    assert results["test_lstm_msis"] == pytest.approx(score.mean() / results["mase_scale"], rel=1e-4)
    assert results["test_lstm_pinball"] == pytest.approx(results["test_lstm_msis"] * 0.1 / 4, rel=1e-9)
    assert any(r.getMessage().startswith("90% adaptive interval on test: coverage") for r in caplog.records)
