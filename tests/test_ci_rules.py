"""The ci tools' rules without dvc: which columns compare keeps and how it sorts, which way the gate judges each
metric, the sweep workflow's matrix, and the Makefile's repro target. When the gate calls a change noise:
tests/test_ci_significance.py."""
import itertools
import json
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from ci.compare import best_baseline, compare_command, kept_metrics, merge_spread, sort_column
from ci.direction import EQUAL, HIGHER, INFO, LOWER, NOMINAL, direction, judge, nominal_for
from ci.gate import Check, crossval_folds, one_sided_crossval, table, without_crossval
from ci.predictions import PREDICTIONS
from ci.sweep import matrix
from tests.helpers import ROOT

COMMITTED = [ROOT / "metrics" / "evaluate.json", ROOT / "metrics" / "train" / "metrics.json"]
NEW_MODELS = ("auto_ets", "auto_arima", "auto_theta")


def committed_names() -> set[str]:
    return {name for path in COMMITTED for name in json.loads(path.read_text())}


def test_compare_keeps_the_test_scores_of_every_model_evaluate_scores():
    names = committed_names() | {"test_lstm_rmse_h2", "test_lstm_coverage_h2", "test_linear_mase_h2"}
    names |= {f"{split}_{m}_{metric}" for split in ("val", "test") for m in NEW_MODELS for metric in ("rmse", "mase")}
    models = {n.removeprefix("val_").removesuffix("_rmse") for n in names if re.fullmatch(r"val_\w+_rmse", n)}
    assert {"lstm", "persistence", "seasonal_naive", "linear", *NEW_MODELS} == models
    keep = re.compile(kept_metrics())
    assert {n for n in names if keep.match(n)} == {f"test_{m}_{x}" for m in models for x in ("rmse", "mase")} | {
        "test_lstm_msis"}  # the band's interval score; its coverage and width stay out by default


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_compare_sorts_by_validation_then_by_crossval_once_dvc_yaml_declares_it(tmp_path):
    # Sorting by a test figure picks the experiment that fits the test span best: the test span is then spent.
    names = committed_names() | {f"crossval_{m}_{x}_{s}" for m in ("lstm", "linear", "auto_ets")
                                 for x in ("mase", "rmse") for s in ("mean", "sd")} | {"fold1_lstm_mase"}
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    before = {**spec, "stages": {k: v for k, v in spec["stages"].items() if k != "crossval"}}
    (tmp_path / "before").mkdir()
    (tmp_path / "before" / "dvc.yaml").write_text(yaml.safe_dump(before))
    today = compare_command("mae", root=tmp_path / "before")  # a project without the crossval stage
    assert option(today, "--sort-by") == "metrics/evaluate.json:val_lstm_rmse"
    keep, drop = re.compile(option(today, "--keep")), re.compile(option(today, "--drop"))
    models = ("lstm", "persistence", "seasonal_naive", "linear", "auto_ets", "auto_arima", "auto_theta")
    assert {n for n in names if keep.match(n)} == {f"test_{m}_mae" for m in models} | {"val_lstm_rmse"}
    assert all(drop.match(n) for n in names)  # --keep wins over --drop
    assert {"metrics/crossval.json": {"cache": False, "persist": True}} in spec["stages"]["crossval"]["metrics"]
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "crossval.json").write_text(json.dumps(
        {"crossval_lstm_mase_mean": 1.0, "crossval_linear_mase_mean": 1.25, "crossval_auto_ets_mase_mean": 0.75}))
    later = compare_command(root=tmp_path)
    assert option(later, "--sort-by") == "metrics/crossval.json:crossval_lstm_mase_mean"
    keep = re.compile(option(later, "--keep"))
    assert {n for n in names if keep.match(n) and not n.startswith("test_")} == {
        "crossval_lstm_mase_mean", "crossval_lstm_mase_sd", "crossval_auto_ets_mase_mean", "crossval_auto_ets_mase_sd"}


@pytest.mark.parametrize("crossval, why", [
    ('{"folds": 0}\n', "crossval.folds: 0"),  # what crossval writes with folds: 0
    ("", "the file holds no such key"),
    (None, "not written yet: run dvc repro"),
])
def test_compare_sorts_by_validation_and_says_so_without_crossval_means(tmp_path, crossval, why):
    (tmp_path / "dvc.yaml").write_text((ROOT / "dvc.yaml").read_text())
    (tmp_path / "metrics").mkdir()
    if crossval is not None:
        (tmp_path / "metrics" / "crossval.json").write_text(crossval)
    assert sort_column(tmp_path) == ("metrics/evaluate.json:val_lstm_rmse", (
        f"compare: no crossval_lstm_mase_mean in the workspace's metrics/crossval.json ({why}): rows sorted by the "
        "LSTM's validation RMSE, val_lstm_rmse"))
    command = compare_command(root=tmp_path)
    assert option(command, "--sort-by") == "metrics/evaluate.json:val_lstm_rmse"
    keep = re.compile(option(command, "--keep"))  # other experiments' crossval columns still show
    assert keep.match("val_lstm_rmse") and keep.match("crossval_lstm_mase_mean") and not keep.match("val_lstm_mae")


def test_compare_best_baseline_and_mean_sd_columns():
    assert best_baseline({"crossval_lstm_mase_mean": 0.5, "crossval_seasonal_naive_mase_mean": 0.75,
                          "crossval_linear_mase_mean": 1.0, "fold1_linear_mase": 0.25}) == "seasonal_naive"
    assert best_baseline({"crossval_lstm_mase_mean": 0.5}) is None
    shown = ("| Experiment | crossval_lstm_mase_mean | crossval_lstm_mase_sd | test_lstm_rmse |\n"
             "|---|---|---|---|\n"
             "| workspace | 0.98 | 0.051 | 20.0 |\n"
             "| └── 1a2b3c [fast] | - | - | 19.5 |\n")
    assert merge_spread(shown) == (
        "| Experiment        | crossval_lstm_mase (mean ± sd) | test_lstm_rmse |\n"
        "|-------------------|--------------------------------|----------------|\n"
        "| workspace         | 0.98 ± 0.051                   | 20.0           |\n"
        "| └── 1a2b3c [fast] | -                              | 19.5           |\n")
    plain = "| Experiment | test_lstm_rmse |\n|---|---|\n| workspace | 20.0 |\n"
    assert merge_spread(plain) == plain


@pytest.mark.parametrize("name, rule", [
    ("test_lstm_rmse", LOWER), ("val_linear_mae", LOWER), ("test_auto_ets_smape", LOWER), ("test_lstm_mase_h3", LOWER),
    ("train_loss", LOWER), ("best_val_loss", LOWER), ("test_lstm_width", LOWER), ("test_lstm_width_h2", LOWER),
    ("test_lstm_msis", LOWER), ("test_lstm_msis_h3", LOWER), ("test_lstm_pinball", LOWER),
    ("crossval_lstm_msis_mean", LOWER), ("test_lstm_skill", HIGHER), ("val_lstm_skill", HIGHER),
    ("test_lstm_coverage", NOMINAL), ("test_lstm_coverage_h12", NOMINAL),
    ("test_points", INFO), ("val_points", INFO), ("mase_scale", INFO), ("best_epoch", INFO), ("step", INFO),
])
def test_direction_of_each_kind_of_metric(name, rule):
    assert direction(name) == rule


def test_every_committed_metric_has_a_direction():
    assert {name: direction(name) for name in committed_names()}


def test_a_metric_of_unknown_direction_is_an_error():
    with pytest.raises(KeyError, match=r"metric 'test_lstm_crps' has no known direction \(its last word 'crps'"):
        direction("test_lstm_crps")


def test_judge_lower_and_higher():
    assert judge(LOWER, 10.0, 10.0, 0) and judge(LOWER, 10.0, 4.0, 0) and not judge(LOWER, 10.0, 10.5, 0)
    assert judge(LOWER, 10.0, 10.5, 0.05) and not judge(LOWER, 10.0, 10.75, 0.05)
    assert judge(HIGHER, 0.25, 0.5, 0) and not judge(HIGHER, 0.5, 0.25, 0)
    assert judge(HIGHER, -0.5, -0.5625, 0.125) and not judge(HIGHER, -0.5, -0.625, 0.125)  # tolerance x |base|
    assert judge(LOWER, None, 1.0, 1.0) is False and judge(HIGHER, 1.0, None, 1.0) is False


def test_judge_coverage_by_its_distance_to_each_revisions_nominal_level():
    half = (0.5, 0.5)
    assert judge(NOMINAL, 0.25, 0.75, 0, half)                    # as far on the other side
    assert judge(NOMINAL, 0.25, 0.625, 0, half)                   # nearer, though higher
    assert not judge(NOMINAL, 0.625, 0.25, 0, half)               # further, though lower
    assert judge(NOMINAL, 0.5, 0.5625, 0.125, half)               # 0.0625 further, within 0.125 x 0.5
    assert not judge(NOMINAL, 0.5, 0.625, 0.125, half)
    assert not judge(NOMINAL, 0.5, 0.5, 0, (0.5, 0.75))           # the workspace aims elsewhere now
    assert judge(NOMINAL, 0.5, 0.75, 0, (0.5, 0.75))


def test_a_forecast_bands_coverage_is_judged_against_its_own_level():
    assert direction("test_band80_coverage") == NOMINAL and direction("band95_width") == LOWER
    assert nominal_for("test_band80_coverage", (0.9, 0.9)) == (0.8, 0.8)
    assert nominal_for("test_band97.5_coverage", (0.9, 0.9)) == (0.975, 0.975)
    assert nominal_for("test_lstm_coverage", (0.9, 0.85)) == (0.9, 0.85)
    # 0.79 is nearer 0.8 than 0.85 is: better for the 80% band, worse for an interval aiming at 0.9.
    assert judge(NOMINAL, 0.85, 0.79, 0, nominal_for("test_band80_coverage", (0.9, 0.9)))
    assert not judge(NOMINAL, 0.85, 0.79, 0, (0.9, 0.9))
    rows = table([Check("metrics/forecast.json", "test_band80_coverage", 0.8, 0.8, NOMINAL, True)], 0, False,
                 (0.9, 0.9))
    assert "nearest 0.8 " in rows


def test_informational_metrics_get_no_verdict_unless_both_ways():
    assert judge(INFO, 423, 500, 0) is None and judge(INFO, None, 3, 0) is None
    assert judge(EQUAL, 423, 423, 0) and not judge(EQUAL, 423, 424, 0)
    assert not judge(EQUAL, 0.25, 0.5, 0) and judge(EQUAL, 1.0, 1.0 + 1e-7, 1e-6)


def test_gate_table_says_the_direction_and_p_of_each_row():
    checks = [
        Check(PREDICTIONS, "test_lstm_rmse", 1.0, 2.0, LOWER, False, p=0.0125),
        Check("m.json", "test_lstm_rmse", 1.0, 2.0, LOWER, None, by_dm=True),
        Check("m.json", "val_lstm_rmse", 1.0, 2.0, LOWER, False),
        Check("m.json", "test_lstm_coverage", 0.875, 0.75, NOMINAL, True),
        Check("m.json", "test_points", 4.0, 5.0, INFO, None),
    ]
    lines = table(checks, 0.02, False, (0.9, 0.8), alpha=0.01).splitlines()
    assert lines[0] == ("| metric | base | workspace | change | p | better | worse by <= 0.02 x |base| "
                        "(rows with a p: not significantly worse, p >= 0.01) |")
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert [[c.strip() for c in line.strip("|").split("|")][4:] for line in lines[2:]] == [
        ["0.0125", "lower", "FAIL"], ["-", "lower", "by DM"], ["-", "lower", "FAIL"],
        ["-", "nearest 0.8 (base 0.9)", "ok"], ["-", "info", "-"]]
    # --both-ways, as `make check-committed` runs it: the table it has always printed, without a p column.
    both = table([Check("m.json", "test_points", 4.0, 5.0, EQUAL, False)], 1e-6, True, (0.9, 0.9))
    assert both == ("| metric | base | workspace | change | better | |change| <= 1e-06 x |base| |\n|---|---|---|---|---|---|\n"
                    "| m.json:test_points | 4 | 5 | +1 (+25.00%) | either way | FAIL |\n")


CV = "metrics/crossval.json"


def test_gate_leaves_out_crossval_metrics_when_crossval_is_off_at_both_revisions(capsys):
    assert crossval_folds({(CV, "folds"): (0, 0)}) == (0, 0) and crossval_folds({}) == (0, 0)
    assert crossval_folds({(CV, "folds"): (3, None)}) == (3, 0)
    names = ["test_lstm_rmse", "crossval_lstm_mase_mean", f"{CV}:fold1_lstm_mase", "folds"]
    assert without_crossval(names, (0, 0)) == ["test_lstm_rmse", "folds"]
    assert capsys.readouterr().err == ("gate: crossval_lstm_mase_mean, metrics/crossval.json:fold1_lstm_mase left "
                                       "out: crossval is off at both revisions (crossval.folds: 0)\n")
    assert without_crossval(names, (0, 3)) == names and without_crossval(["test_lstm_rmse"], (0, 0)) == [
        "test_lstm_rmse"]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("folds, side", [((3, 0), "at main"), ((0, 2), "in the workspace")])
def test_gate_shows_crossval_metrics_of_one_side_only_without_a_verdict(capsys, folds, side):
    old, new = (1.0, None) if folds[0] else (None, 1.0)  # present where crossval ran
    one_sided = [Check(CV, "crossval_lstm_mase_mean", old, new, LOWER, False),
                 Check(CV, "fold1_lstm_mase", old, new, LOWER, False)]
    others = [Check(CV, "folds", *folds, INFO, None), Check("m.json", "val_lstm_rmse", 1.0, 2.0, LOWER, False)]
    judged = one_sided_crossval(one_sided + others, folds, "main")
    assert [c.passed for c in judged] == [None, None, None, False]  # another metric still fails
    assert capsys.readouterr().err == (f"gate: crossval ran {side} only (crossval.folds: {folds[0]} at main, "
                                       f"{folds[1]} in the workspace): its 2 metric(s) are shown, not judged\n")
    # Crossval on at both revisions: a vanished crossval metric is a change the gate cannot vouch for.
    assert one_sided_crossval(one_sided, (3, 2), "main") == one_sided and capsys.readouterr().err == ""


def test_sweep_matrix_is_the_product_of_sweep_yaml():
    proc = subprocess.run([sys.executable, "-m", "ci.sweep", "--matrix"], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert proc.stdout.count("\n") == 1  # one line, as $GITHUB_OUTPUT needs
    entries = json.loads(proc.stdout)["include"]
    grid = yaml.safe_load((ROOT / "sweep.yaml").read_text())
    points = []
    for entry in entries:
        words = entry["args"].split()
        assert words[::2] == ["-S"] * len(grid)
        points.append({key: yaml.safe_load(value) for key, _, value in (w.partition("=") for w in words[1::2])})
    assert points == [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    names = [entry["name"] for entry in entries]
    assert len(set(names)) == len(names) and all(re.fullmatch(r"[A-Za-z0-9_-]+", n) for n in names)


def test_sweep_matrix_names_and_errors():
    entries = matrix({"train.seed": [1, 2], "plot.seed": [0.5]})["include"]
    assert [e["name"] for e in entries] == ["train_seed1-plot_seed0_5", "train_seed2-plot_seed0_5"]
    assert entries[0]["args"] == "-S train.seed=1 -S plot.seed=0.5"
    with pytest.raises(ValueError, match="'ingest.sheet' value 'my sheet' has whitespace"):
        matrix({"ingest.sheet": ["my sheet"]})


def scalars(node) -> list:
    if isinstance(node, dict):
        return [s for value in node.values() for s in scalars(value)]
    if isinstance(node, list):
        return [s for value in node for s in scalars(value)]
    return [node]


def test_sweep_workflow_takes_its_matrix_from_sweep_yaml():
    text = (ROOT / ".github" / "workflows" / "sweep.yml").read_text()
    jobs = yaml.safe_load(text)["jobs"]
    (job,) = [job for job in jobs.values() if "matrix" in job.get("strategy", {})]
    spec = job["strategy"]["matrix"]
    written = spec if isinstance(spec, str) else ""
    found = re.fullmatch(r"\$\{\{ *fromJSON\(needs\.(\w+)\.outputs\.matrix\) *\}\}", written)
    assert found, f"the matrix should come from a job's output, not be written out: {spec!r}"
    assert found[1] in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"])
    producer = jobs[found[1]]
    script = "\n".join(step.get("run", "") for step in producer["steps"])
    assert "python -m ci.sweep --matrix" in script and '>> "$GITHUB_OUTPUT"' in script
    assert re.fullmatch(r"\$\{\{ *steps\.\w+\.outputs\.matrix *\}\}", producer["outputs"]["matrix"])
    grid = yaml.safe_load((ROOT / "sweep.yaml").read_text())
    leaves = scalars(yaml.safe_load(text))
    for key, values in grid.items():
        assert f"{key}=" not in text and f"matrix.{key.rpartition('.')[2]}" not in text
        assert not [v for v in values if v in leaves and not isinstance(v, bool)], (key, values)


def test_make_repro_does_what_the_readme_says():
    def dry_run(target: str) -> list[list[str]]:
        out = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return [shlex.split(line) for line in out.splitlines() if line.startswith("dvc ")]

    assert dry_run("repro") == [["dvc", "repro"]]
    assert "`make repro` runs plain `dvc repro`" in " ".join((ROOT / "README.md").read_text().split())
    assert dry_run("check-committed") == [["dvc", "repro", "--force"]]


def test_the_docs_show_no_dvc_command_that_runs_the_system_python():
    # dvc.yaml runs `python` from PATH: `.venv/bin/dvc repro` in a shell without the venv activated runs the
    # stages with the system python. Only python itself and `activate` may be called by their venv path.
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        calls = re.findall(r"\.venv/bin/([\w.-]+)", page.read_text())
        assert set(calls) <= {"python", "activate"}, (page.name, calls)
        assert "prefix the commands" not in page.read_text()


def test_crossval_means_follow_their_metric_and_spreads_are_information():
    from ci.direction import HIGHER, INFO, LOWER, direction

    assert direction("crossval_lstm_mase_mean") == LOWER and direction("crossval_lstm_skill_mean") == HIGHER
    assert direction("crossval_lstm_mase_sd") == INFO and direction("folds") == INFO
    assert direction("fold2_lstm_vs_linear_dm_p") == INFO and direction("fold2_lstm_rmse") == LOWER
