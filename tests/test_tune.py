"""make tune (ci/tune.py, ci/search_space.py): tune.yaml and its errors, the objective (never a test_ metric),
resume, failed and interrupted trials, and two real trials through DVC."""
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import optuna
import pytest
import yaml

from ci import objective, tune
from ci.feasible import fit_space
from ci.search_space import CATEGORICAL, FLOAT, INT, Dimension, load_space, override
from ci.shell import CommandError
from lstm_forecast.data.artifacts import SeriesInfo
from tests.helpers import ROOT, SMALL_PARAMS, commit, sh, write_params

SPACE = ("train.lr: {type: float, low: 0.001, high: 0.03, log: true}\n"
         "train.hidden_size: {type: int, low: 4, high: 16, step: 4}\n"
         "normalize.method: {type: categorical, choices: [zscore, minmax]}\n")


@pytest.fixture
def project(in_tmp):
    """A folder with the small params.yaml, this project's dvc.yaml and a valid tune.yaml."""
    write_params(in_tmp / "params.yaml", SMALL_PARAMS)
    (in_tmp / "dvc.yaml").write_text((ROOT / "dvc.yaml").read_text())
    (in_tmp / "tune.yaml").write_text(SPACE)
    return in_tmp


# --- tune.yaml ---


def test_the_shipped_space_fits_the_shipped_params():
    space = load_space(ROOT / "tune.yaml", ROOT / "params.yaml")
    assert {dim.key for dim in space} >= {"train.lr", "train.hidden_size", "window.time_step"}


def test_space_is_read_in_file_order_with_its_types(project):
    assert load_space(Path("tune.yaml")) == [
        Dimension("train.lr", FLOAT, low=0.001, high=0.03, log=True),
        Dimension("train.hidden_size", INT, low=4, high=16, step=4),
        Dimension("normalize.method", CATEGORICAL, choices=("zscore", "minmax")),
    ]
    # YAML 1.1 reads 1e-3 (no dot) as a string.
    (project / "tune.yaml").write_text("train.lr: {type: float, low: 1e-4, high: 1e-2, log: true}\n")
    assert load_space(Path("tune.yaml"))[0].low == 1e-4


@pytest.mark.parametrize("text, message", [
    ("lr: {type: float, low: 0.1, high: 1}\n", "'lr' is not a section.key of params.yaml (e.g. train.lr)"),
    ("train.hiden_size: {type: int, low: 4, high: 8}\n",
     "'train.hiden_size' is not a key of params.yaml; did you mean 'train.hidden_size'?"),
    ("model.width: {type: int, low: 1, high: 2}\n",
     "'model.width' is not a key of params.yaml; did you mean 'plot.width'?"),
    ("model.depth: {type: int, low: 1, high: 2}\n",
     "'model.depth' is not a key of params.yaml (section.key, e.g. train.lr)"),
    ("crossval.folds: {type: int, low: 0, high: 5}\n", "'crossval.folds' cannot be tuned: it changes the data"),
    ("normalize.val: {type: float, low: 0.1, high: 0.3}\n", "'normalize.val' cannot be tuned"),
    ("ingest.path: {type: categorical, choices: [a.csv, b.csv]}\n", "'ingest.path' cannot be tuned"),
    ("train.lr: 0.01\n", "'train.lr' should be a mapping with type: float | int | categorical"),
    ("train.lr: {type: real, low: 0.1, high: 1}\n", "'train.lr' should be a mapping with type: float | int"),
    ("train.lr: {type: float, low: 0.001, high: 0.1, logg: true}\n",
     "'train.lr': unknown field 'logg' for type float (valid: low, high, log, step)"),
    ("normalize.method: {type: categorical, values: [zscore]}\n",
     "'normalize.method': unknown field 'values' for type categorical (valid: choices)"),
    ("train.lr: {type: float, low: 0.001}\n", "'train.lr': type float needs low and high"),
    ("train.lr: {type: float, low: 0.1, high: 0.1}\n", "'train.lr': low=0.1 should be below high=0.1"),
    ("train.hidden_size: {type: int, low: 9, high: 8}\n", "'train.hidden_size': low=9 should be at most high=8"),
    ("train.lr: {type: float, low: 0, high: 0.1, log: true}\n", "'train.lr': log: true needs low > 0, got low=0.0"),
    ("train.lr: {type: float, low: 0.01, high: 0.1, log: true, step: 0.01}\n",
     "'train.lr': log: true samples on a log scale and takes no step"),
    ("train.lr: {type: float, low: 0.01, high: 0.1, log: yes please}\n",
     "'train.lr': log='yes please' should be true or false"),
    ("train.hidden_size: {type: int, low: 4, high: 16, step: 0}\n", "'train.hidden_size': step=0 should be > 0"),
    ("train.hidden_size: {type: int, low: 4.5, high: 16}\n", "'train.hidden_size': low=4.5 should be a whole number"),
    ("train.lr: {type: float, low: a, high: 1}\n", "'train.lr': low='a' should be a finite number"),
    ("train.hidden_size: {type: float, low: 4, high: 16}\n",
     "'train.hidden_size': params.yaml has the whole number 8, which a float range would not keep whole; "
     "use type: int"),
    ("normalize.method: {type: int, low: 1, high: 2}\n",
     "'normalize.method': type int needs a number, but params.yaml has 'zscore'; use type: categorical"),
    ("normalize.method: {type: categorical, choices: []}\n",
     "'normalize.method': choices should be a non-empty list of values, got []"),
    ("normalize.method: {type: categorical, choices: [[zscore]]}\n", "'normalize.method': choices should be single"),
    ("normalize.method: {type: categorical, choices: [zscore, zscore]}\n",
     "'normalize.method': choices ['zscore', 'zscore'] repeat a value"),
])
def test_space_errors_name_the_file_the_key_and_what_is_valid(project, text, message):
    (project / "tune.yaml").write_text(text)
    with pytest.raises(ValueError, match="^" + "tune.yaml: " + re.escape(message)):
        load_space(Path("tune.yaml"))


@pytest.mark.parametrize("text, message", [
    (None, "tune.yaml: search space file not found"),
    ("", "tune.yaml: expected a mapping of section.key to a spec"),
    ("[train.lr]\n", "tune.yaml: expected a mapping of section.key to a spec"),
    ("train.lr: {type: float\n", "tune.yaml: not valid YAML"),
])
def test_space_file_errors(project, text, message):
    (project / "tune.yaml").unlink()
    if text is not None:
        (project / "tune.yaml").write_text(text)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        load_space(Path("tune.yaml"))


def test_a_bad_space_is_one_line_and_exit_2(project, capsys):
    (project / "tune.yaml").write_text("train.learning_rate: {type: float, low: 0.1, high: 1}\n")
    assert tune.main([]) == 2
    err = capsys.readouterr().err
    assert err == "error: tune.yaml: 'train.learning_rate' is not a key of params.yaml (section.key, e.g. train.lr)\n"


@pytest.mark.parametrize("value, text", [
    (0.0012, "train.lr=0.0012"), (1e-05, "train.lr=1e-05"), (16, "train.lr=16"), (True, "train.lr=true"),
    (False, "train.lr=false"), (None, "train.lr=null"), ("minmax", "train.lr=minmax"),
    ("true", "train.lr='true'"), ("a b", "train.lr='a b'"), ("it's", "train.lr='it\\'s'"),
])
def test_overrides_keep_each_value_s_type(value, text):
    assert override("train.lr", value) == text


def test_proposals_are_reproducible_with_the_seed(project):
    space = load_space(Path("tune.yaml"))

    def proposals(storage: str, seed: int) -> list[list[str]]:
        study = tune.open_study(f"sqlite:///{storage}", "s", "val_lstm_mase", seed)
        return [tune.suggested(study.ask(), space, "s") for _ in range(4)]

    first = proposals("a.db", seed=3)
    assert first == proposals("b.db", seed=3)
    assert first != proposals("c.db", seed=4)
    assert len({tuple(p) for p in first}) == 4


# --- tune.yaml fitted to the series ---

# A ten-year monthly sheet: 120 values, train/val/test 84/18/18; crossval's oldest of 3 folds trains on 48.


@pytest.fixture
def ten_years(project):
    write_params(project / "params.yaml", {**SMALL_PARAMS, "normalize": {"train": 0.7, "val": 0.15, "test": 0.15},
                                           "evaluate": {"season": "auto"}})
    (project / "data").mkdir()
    info = SeriesInfo("value", "date", "MS", None, 120)
    (project / "data" / "series.json").write_text(json.dumps(info.to_json()))
    return project


def fold1(time_step: int, where: str = "crossval fold 1 of 3", sizes: str = "84; split sizes train 48") -> str:
    return (f"{where}: time_step={time_step}: leaves no whole window in the train split (series length {sizes}, "
            f"val 18, test 18); a training window needs time_step + horizon = {time_step + 1} values and every split "
            "at least horizon = 1")


def today(time_step: int) -> str:
    return fold1(time_step, "today's split", "120; split sizes train 84")


def test_time_steps_that_cannot_fit_the_series_are_dropped(ten_years):
    # auto: three seasons of 12, at most a third of each training span (28 today, 16 in fold 1): it fits.
    space = [Dimension("window.time_step", CATEGORICAL, choices=("auto", 24, 48, 96)),
             Dimension("train.lr", FLOAT, low=0.001, high=0.03)]
    fitted, lines = fit_space(space)
    assert fitted == [Dimension("window.time_step", CATEGORICAL, choices=("auto", 24)), space[1]]
    assert lines == [f"window.time_step 48 dropped: {fold1(48)}", f"window.time_step 96 dropped: {today(96)}"]
    ranged, lines = fit_space([Dimension("window.time_step", INT, low=12, high=60, step=12)])
    assert ranged == [Dimension("window.time_step", INT, low=12, high=36, step=12)]
    assert lines == [f"window.time_step above 36 dropped (high 60 -> 36): {fold1(48)}"]
    # Without crossval only today's training span counts: 84 values hold a window of 48 and its target.
    write_params(ten_years / "params.yaml", {**SMALL_PARAMS, "crossval": {"folds": 0},
                                             "normalize": {"train": 0.7, "val": 0.15, "test": 0.15}})
    fitted, lines = fit_space(space)
    assert fitted[0].choices == ("auto", 24, 48) and lines == [f"window.time_step 96 dropped: {today(96)}"]


def test_a_space_that_cannot_fit_is_one_line_and_exit_2(ten_years, capsys):
    (ten_years / "tune.yaml").write_text("window.time_step: {type: categorical, choices: [48, 96]}\n")
    assert tune.main(["--trials", "2"]) == 2
    assert capsys.readouterr().err == ("error: none of the 2 values of window.time_step in the search space fits the "
                                       f"series (48: {fold1(48)}); give it shorter ones\n")
    assert not (ten_years / "tune.db").exists()


def test_without_series_json_the_space_is_kept_with_a_warning(project):
    space = [Dimension("window.time_step", CATEGORICAL, choices=(24, 5000))]
    assert fit_space(space) == (space, [
        "warning: data/series.json not found (run `make repro` first): window.time_step is not fitted to the series, "
        "and values too long for it fail their trials"])
    assert fit_space(space[:0] + [Dimension("train.lr", FLOAT, low=0.001, high=0.03)])[1] == []


# --- the objective ---


class Recording(Mapping):
    """A metrics mapping that records whose value was read (items() and values() read every one)."""

    def __init__(self, data: dict, read: set):
        self.data, self.read = data, read

    def __getitem__(self, key):
        self.read.add(key)
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)


def metrics_files(val: float, test: float, read: set) -> dict[str, Mapping]:
    """evaluate.json and crossval.json with every kind of key; the test span's scores are ``test``."""
    evaluate = {"val_lstm_mase": val, "val_lstm_rmse": 2 * val, "val_lstm_skill": 1 - val, "val_points": 48,
                "test_lstm_mase": test, "test_lstm_rmse": 2 * test, "test_points": 48, "mase_scale": 1.0}
    crossval = {"crossval_lstm_mase_mean": val, "crossval_lstm_mase_sd": 0.1, "fold3_lstm_mase": test, "folds": 3}
    return {objective.EVALUATE: Recording(evaluate, read), objective.CROSSVAL: Recording(crossval, read),
            "metrics/train/metrics.json": Recording({"best_val_loss": 0.5}, read)}


def test_allowed_metrics_never_read_a_test_value():
    read = set()
    allowed = objective.allowed_metrics(metrics_files(0.9, 0.1, read))
    assert allowed == {"val_lstm_mase": 0.9, "val_lstm_rmse": 1.8, "val_lstm_skill": pytest.approx(0.1),
                       "val_points": 48, "crossval_lstm_mase_mean": 0.9}
    assert read == set(allowed)  # fold3_ is today's test span: not read either


def fake_dvc(monkeypatch, score) -> dict[str, dict]:
    """Replace dvc with a fake whose experiment ``name`` run with ``sets`` scores ``score(params)`` (val, test)."""
    ran, read = {}, set()

    def run_experiment(name, sets):
        ran[name] = {s.split("=")[0]: yaml.safe_load(s.split("=", 1)[1]) for s in sets}

    def exp_show():
        exps = []
        for name, params in ran.items():
            metrics = {path: {"data": data} for path, data in metrics_files(*score(params), read).items()}
            exps.append({"name": name, "revs": [{"name": name, "data": {"metrics": metrics}}]})
        return [{"rev": "workspace", "experiments": None}, {"rev": "abc", "experiments": exps}]

    monkeypatch.setattr(tune, "run_experiment", run_experiment)
    monkeypatch.setattr(tune, "exp_show", exp_show)
    return {"ran": ran, "read": read}


@pytest.mark.parametrize("objective", ["crossval_lstm_mase_mean", "val_lstm_mase"])
def test_the_tuner_chooses_on_validation_whatever_the_test_span_says(project, monkeypatch, objective):
    # The test span's MASE falls as the validation one rises: a tuner that looked at it would pick the other end.
    dvc = fake_dvc(monkeypatch, lambda p: (abs(p["train.lr"] - 0.01), 1 - abs(p["train.lr"] - 0.01)))
    space = [Dimension("train.lr", FLOAT, low=0.001, high=0.03)]
    study = tune.open_study("sqlite:///tune.db", "s", objective, seed=0)
    assert tune.run_trials(study, space, objective, 8) == 0
    lrs = {trial.number: trial.params["train.lr"] for trial in study.trials}
    assert study.best_trial.number == min(lrs, key=lambda k: abs(lrs[k] - 0.01))
    assert study.best_value == pytest.approx(min(abs(lr - 0.01) for lr in lrs.values()))
    assert dvc["read"] and not [key for key in dvc["read"] if key.startswith(("test_", "fold"))]
    assert set(dvc["ran"]) == {f"trial-{k}" for k in range(8)}


def test_a_higher_is_better_objective_is_maximised(project, monkeypatch):
    fake_dvc(monkeypatch, lambda p: (p["train.lr"], 0.0))  # val_lstm_skill = 1 - val: best at the lowest lr
    study = tune.open_study("sqlite:///tune.db", "s", "val_lstm_skill", seed=0)
    tune.run_trials(study, [Dimension("train.lr", FLOAT, low=0.001, high=0.03)], "val_lstm_skill", 4)
    assert study.best_trial.params["train.lr"] == min(t.params["train.lr"] for t in study.trials)


@pytest.mark.parametrize("name, message", [
    ("test_lstm_mase", "--objective test_lstm_mase: a test_ metric only reports and is never tuned on"),
    ("test_lstm_rmse", "--objective test_lstm_rmse: a test_ metric only reports"),
    ("fold3_lstm_mase", "--objective fold3_lstm_mase: should be a val_ metric of metrics/evaluate.json"),
    ("crossval_lstm_mase_sd", "--objective crossval_lstm_mase_sd: should be a val_ metric"),
    ("val_points", "--objective val_points: is info, neither lower nor higher is better"),
    ("val_lstm_crps", "--objective val_lstm_crps: metric 'val_lstm_crps' has no known direction"),
])
def test_objectives_that_cannot_choose_are_refused(name, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        objective.check_objective(name)


def test_objective_directions():
    assert objective.check_objective("crossval_lstm_mase_mean") == "minimize"
    assert objective.check_objective("val_lstm_rmse") == "minimize"
    assert objective.check_objective("val_lstm_skill") == "maximize"


def test_a_test_objective_is_refused_in_one_line(project, capsys):
    assert tune.main(["--objective", "test_lstm_mase"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --objective test_lstm_mase: a test_ metric only reports") and err.count("\n") == 1
    assert not (project / "tune.db").exists()


def test_a_bad_storage_is_one_line(project, capsys):
    assert tune.main(["--storage", "sqlite:////no/such/folder/tune.db"]) == 2
    assert capsys.readouterr().err == ("error: --storage sqlite:////no/such/folder/tune.db: (sqlite3.OperationalError) "
                                       "unable to open database file\n")


def test_default_objective_follows_crossval_folds(project):
    assert objective.default_objective() == "crossval_lstm_val_mase_mean"  # SMALL_PARAMS: 3 folds
    write_params(project / "params.yaml", {**SMALL_PARAMS, "crossval": {"folds": 0}})
    assert objective.default_objective() == "val_lstm_mase"


def test_a_missing_objective_names_what_the_experiment_has(project, monkeypatch):
    fake_dvc(monkeypatch, lambda p: (0.5, 0.5))
    study = tune.open_study("sqlite:///tune.db", "s", "val_lstm_mae", seed=0)
    with pytest.raises(ValueError, match=r"^trial-0: its metrics have no 'val_lstm_mae' \(it has: crossval_lstm"):
        tune.run_trials(study, [Dimension("train.lr", FLOAT, low=0.001, high=0.03)], "val_lstm_mae", 1)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL]


# --- the study: resume, failures, Ctrl-C ---

SMALL_SPACE = [Dimension("train.hidden_size", INT, low=4, high=16)]


def scripted(outcomes: dict[int, object]):
    """A runner: trial k gets outcomes[k] (an Outcome, or an exception to raise), else a value of its params."""
    names = []

    def runner(name, sets):
        names.append(name)
        outcome = outcomes.get(int(name.removeprefix("trial-")))
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome or tune.Outcome({"val_lstm_mase": float(sets[0].split("=")[1])})

    runner.names = names
    return runner


def test_a_second_study_object_on_the_file_resumes(project):
    first = tune.open_study("sqlite:///tune.db", tune.STUDY, "val_lstm_mase", seed=0)
    assert tune.run_trials(first, SMALL_SPACE, "val_lstm_mase", 2, scripted({})) == 0
    again = tune.open_study("sqlite:///tune.db", tune.STUDY, "val_lstm_mase", seed=0)
    assert [t.params for t in again.trials] == [t.params for t in first.trials] and len(again.trials) == 2
    runner = scripted({})
    tune.run_trials(again, SMALL_SPACE, "val_lstm_mase", 1, runner)
    assert runner.names == ["trial-2"]
    assert len(tune.open_study("sqlite:///tune.db", tune.STUDY, "val_lstm_mase", seed=0).trials) == 3
    with pytest.raises(ValueError, match=f"^study '{tune.STUDY}' in sqlite:///tune.db tunes val_lstm_mase, not "
                                         "val_lstm_rmse: use --objective val_lstm_mase, or --study"):
        tune.open_study("sqlite:///tune.db", tune.STUDY, "val_lstm_rmse", seed=0)


def test_a_failed_experiment_is_pruned_and_the_study_goes_on(project):
    study = tune.open_study("sqlite:///tune.db", "s", "val_lstm_mase", seed=0)
    failure = tune.Outcome({}, "stage train: training diverged at epoch 2")
    assert tune.run_trials(study, SMALL_SPACE, "val_lstm_mase", 3, scripted({1: failure})) == 0
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "PRUNED", "COMPLETE"]
    assert study.trials[1].user_attrs == {"experiment": "trial-1",
                                          "failure": "stage train: training diverged at epoch 2"}


def test_a_study_whose_trials_all_failed_exits_1_saying_why(project, monkeypatch, capsys):
    refused = "stage window: window.time_step=96: leaves no whole window in the train split"
    monkeypatch.setattr(tune, "run_experiment", lambda name, sets: refused)
    monkeypatch.setattr(tune, "stale_experiments", lambda study: [])
    monkeypatch.setattr(tune, "untracked_files", lambda: [])
    monkeypatch.setattr(tune, "run", lambda *args: "0123abc\n")  # git rev-parse HEAD
    assert tune.main(["--trials", "2", "--objective", "val_lstm_mase"]) == 1
    out, err = capsys.readouterr()
    assert out == f"no trial of study '{tune.STUDY}' in {tune.STORAGE} has completed yet\n"
    assert err.splitlines()[-1] == (f"error: none of the 2 trials of study '{tune.STUDY}' completed (pruned or "
                                    f"failed); the first pruned, trial-0: {refused}")
    # One completed trial, in this run or an earlier one, is a study with a best: exit 0.
    monkeypatch.setattr(tune, "run_experiment", lambda name, sets: None)
    metrics = {"metrics/evaluate.json": {"data": {"val_lstm_mase": 0.5}}}
    monkeypatch.setattr(tune, "exp_show", lambda: [{"experiments": [{"name": "trial-2",
                                                                     "revs": [{"data": {"metrics": metrics}}]}]}])
    assert tune.main(["--trials", "1", "--objective", "val_lstm_mase"]) == 0


def test_ctrl_c_stops_with_the_study_saved(project, capsys):
    study = tune.open_study("sqlite:///tune.db", "s", "val_lstm_mase", seed=0)
    assert tune.run_trials(study, SMALL_SPACE, "val_lstm_mase", 5, scripted({2: KeyboardInterrupt()})) == 130
    assert "interrupted (Ctrl-C) in trial-2" in capsys.readouterr().err
    resumed = tune.open_study("sqlite:///tune.db", "s", "val_lstm_mase", seed=0)
    assert [t.state.name for t in resumed.trials] == ["COMPLETE", "COMPLETE", "FAIL"]
    runner = scripted({})
    tune.run_trials(resumed, SMALL_SPACE, "val_lstm_mase", 1, runner)
    assert runner.names == ["trial-3"]
    summary = tune.best_summary(resumed, "val_lstm_mase", "sqlite:///tune.db")
    best = resumed.best_trial
    assert summary == (f"best of 3 completed trials: trial {best.number}, val_lstm_mase = {best.value:.6g}\n"
                       f"  train.hidden_size: {best.params['train.hidden_size']}\n"
                       f"apply it: dvc exp apply trial-{best.number}\n")


def test_a_bug_stops_the_study(project):
    study = tune.open_study("sqlite:///tune.db", "s", "val_lstm_mase", seed=0)
    with pytest.raises(CommandError, match="exited 1"):
        tune.run_trials(study, SMALL_SPACE, "val_lstm_mase", 3, scripted({1: CommandError("`dvc` exited 1")}))
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL"]
    assert tune.best_summary(tune.open_study("sqlite:///none.db", "s", "val_lstm_mase", 0), "val_lstm_mase",
                             "none.db") == "no trial of study 's' in none.db has completed yet\n"


# --- dvc's exit, read ---


def fake_dvc_command(tmp_path, monkeypatch, output: str, code: int) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dvc").write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {code}\n")
    (bin_dir / "dvc").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_a_stage_s_user_error_is_a_failed_trial(in_tmp, monkeypatch):
    fake_dvc_command(in_tmp, monkeypatch, (
        "Running stage 'train':\n> python -m pipeline.train ...\n"
        "error: training diverged at epoch 3: train loss inf; lower train.lr (now 5)\n"
        "ERROR: failed to reproduce 'train': failed to run: python -m pipeline.train ..., exited with 2"), 255)
    assert tune.run_experiment("trial-0", ["train.lr=5"]) == \
        "stage train: training diverged at epoch 3: train loss inf; lower train.lr (now 5)"


@pytest.mark.parametrize("output", [
    "Traceback (most recent call last):\nZeroDivisionError\n"
    "ERROR: failed to reproduce 'train': failed to run: python -m pipeline.train ..., exited with 1",
    "ERROR: Experiment conflicts with existing experiment 'trial-0'.",
])
def test_any_other_failure_is_an_error(in_tmp, monkeypatch, output):
    fake_dvc_command(in_tmp, monkeypatch, output, 255)
    with pytest.raises(CommandError, match=r"^`dvc exp run --temp -n trial-0 -S train.lr=5` exited 255: ERROR: "):
        tune.run_experiment("trial-0", ["train.lr=5"])


# --- end to end, through the real dvc ---


def exp_params(repo, env) -> dict[str, dict]:
    """Experiment name -> (its train params, its metrics files) from `dvc exp show --json`."""
    shown = json.loads(sh(repo, env, "dvc", "exp", "show", "--json").stdout)
    return {exp["name"]: exp["revs"][0]["data"] for rev in shown for exp in rev.get("experiments") or []}


def test_make_tune_runs_trials_as_experiments_and_resumes(repo, dvc_env):
    (repo / "tune.yaml").write_text("train.lr: {type: float, low: 0.005, high: 0.05, log: true}\n"
                                    "train.hidden_size: {type: int, low: 4, high: 8, step: 4}\n")
    commit(repo, dvc_env, "search space")
    proc = sh(repo, dvc_env, sys.executable, "-m", "ci.tune", "--trials", "2")
    study = optuna.load_study(study_name=tune.STUDY, storage=f"sqlite:///{repo / 'tune.db'}")
    exps = exp_params(repo, dvc_env)
    assert set(exps) == {"trial-0", "trial-1"}
    for trial in study.trials:
        data = exps[f"trial-{trial.number}"]
        train = data["params"]["params.yaml"]["data"]["train"]
        assert {"train.lr": train["lr"], "train.hidden_size": train["hidden_size"]} == trial.params
        assert trial.value == data["metrics"]["metrics/crossval.json"]["data"]["crossval_lstm_val_mase_mean"]
    best = min(study.trials, key=lambda t: t.value)
    assert proc.stdout.endswith(f"apply it: dvc exp apply trial-{best.number}\n")
    assert proc.stdout.startswith(f"best of 2 completed trials: trial {best.number}, crossval_lstm_val_mase_mean = "
                                  f"{best.value:.6g}\n  train.lr: {best.params['train.lr']!r}\n")
    assert sh(repo, dvc_env, "git", "status", "--porcelain").stdout == ""  # tune.db is ignored
    # Resumed with a space whose one proposal a stage refuses: a pruned trial-2, and the same best.
    (repo / "bad.yaml").write_text("normalize.method: {type: categorical, choices: [robust]}\n")
    again = sh(repo, dvc_env, sys.executable, "-m", "ci.tune", "--trials", "1", "--space", "bad.yaml")
    assert "tune: trial-2 failed (stage normalize: normalize.method='robust' is not valid" in again.stderr
    assert again.stdout == proc.stdout and set(exp_params(repo, dvc_env)) == {"trial-0", "trial-1"}
    # A window.time_step the 240 values cannot hold is never proposed; with none left, one line and no trial.
    (repo / "long.yaml").write_text("window.time_step: {type: categorical, choices: [500]}\n")
    long = sh(repo, dvc_env, sys.executable, "-m", "ci.tune", "--trials", "1", "--space", "long.yaml", check=False)
    assert long.returncode == 2 and long.stderr.startswith(
        "error: none of the 1 values of window.time_step in the search space fits the series (500: today's split: "
        "time_step=500: leaves no whole window in the train and val and test split (series length 240;") and long.stderr.count("\n") == 1
    sh(repo, dvc_env, "dvc", "exp", "apply", f"trial-{best.number}")
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["lr"] == best.params["train.lr"]
    # A new study would name its trials like the experiments already there: refused before running any.
    (repo / "tune.db").unlink()
    clash = sh(repo, dvc_env, sys.executable, "-m", "ci.tune", "--trials", "1", check=False)
    assert clash.returncode == 2 and clash.stderr == (
        f"error: experiments trial-0, trial-1 exist on this commit but study '{tune.STUDY}' in sqlite:///tune.db "
        "did not run them: `dvc exp remove trial-0 trial-1` (after `dvc exp branch` for any worth keeping)\n")
