"""The review tools (ci.report, ci.gate, ci.compare, ci.sweep) against the real dvc and git."""
import json
import re
import subprocess
import sys

import pytest

from tests.helpers import commit, full_params, make_repo, repro, set_param, sh

MD5 = re.compile(r"\b[0-9a-f]{32}\b")


def table_rows(markdown: str, first_cell: str) -> list[list[str]]:
    """Cells of the Markdown table rows whose first cell is ``first_cell``."""
    rows = []
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            rows.append(cells)
    return rows


def metrics_at(repo, env, rev: str) -> dict:
    return json.loads(sh(repo, env, "git", "show", f"{rev}:metrics/evaluate.json").stdout)


@pytest.fixture(scope="module")
def history(tmp_path_factory, dvc_env):
    """Two commits that differ only in train.lr, each with its reproduced metrics."""
    repo = make_repo(tmp_path_factory.mktemp("history"), dvc_env, full_params(**{"train.lr": 0.01}))
    repro(repo, dvc_env)
    commit(repo, dvc_env, "base")
    set_param(repo, "train.lr", 0.03)
    repro(repo, dvc_env)
    commit(repo, dvc_env, "raise the learning rate")
    return repo


def tool(repo, env, module, *args, check=True):
    return sh(repo, env, sys.executable, "-m", f"ci.{module}", *args, check=check)


def test_report_shows_the_param_change_and_the_metric_changes(history, dvc_env):
    out = tool(history, dvc_env, "report", "HEAD~1", "--images", "rep").stdout
    assert table_rows(out, "params.yaml") == [["params.yaml", "train.lr", "0.01", "0.03"]]
    old, new = metrics_at(history, dvc_env, "HEAD~1"), metrics_at(history, dvc_env, "HEAD")
    assert old["test_lstm_rmse"] != new["test_lstm_rmse"]
    rows = {cells[1]: cells for cells in table_rows(out, "metrics/evaluate.json")}
    for name in ("test_lstm_rmse", "test_lstm_mase", "val_lstm_rmse"):
        _, _, before, after, change = rows[name]
        assert float(before) == pytest.approx(old[name], abs=1e-5)
        assert float(after) == pytest.approx(new[name], abs=1e-5)
        assert float(change) == pytest.approx(new[name] - old[name], abs=2e-5)
    assert "test_persistence_rmse" not in rows  # the baselines did not change
    significance = out[out.index("## Significance"):out.index("## Forecast")]
    (gate_row,) = table_rows(significance, "test_lstm_rmse")  # HEAD's higher learning rate helped, beyond noise
    assert float(gate_row[3]) < 0.05 and gate_row[4] == "significantly better"
    for model in ("persistence", "seasonal_naive", "linear"):
        (row,) = table_rows(significance, model)
        assert [float(p) for p in row[1:3]] == pytest.approx(
            [old[f"test_lstm_vs_{model}_dm_p"], new[f"test_lstm_vs_{model}_dm_p"]], rel=1e-2)
    base_png = subprocess.run(["git", "show", "HEAD~1:metrics/figures/forecast.png"], cwd=history,
                              capture_output=True, check=True).stdout
    assert "![forecast at HEAD~1](rep/forecast-base.png)" in out and "(rep/forecast.png)" in out
    assert (history / "rep" / "forecast-base.png").read_bytes() == base_png
    assert (history / "rep" / "forecast.png").read_bytes() == (history / "metrics/figures/forecast.png").read_bytes()
    assert base_png[:4] == b"\x89PNG" and (history / "rep" / "forecast-base.png").read_bytes() != \
        (history / "rep" / "forecast.png").read_bytes()


def test_report_with_nothing_changed(history, dvc_env):
    out = tool(history, dvc_env, "report", "HEAD", "--images", "rep").stdout
    assert "No params changed." in out and "No metric changed." in out


def test_gate_fails_a_significantly_worse_model_and_passes_a_better_one(history, dvc_env):
    name = "test_lstm_rmse"
    # Compare both ways round: the workspace holding HEAD's metrics and predictions against HEAD~1, then HEAD~1's
    # against HEAD. HEAD~1 (lr 0.01) forecasts the test span significantly worse than HEAD (lr 0.03).
    outcomes = {}
    for workspace, base in (("HEAD", "HEAD~1"), ("HEAD~1", "HEAD")):
        sh(history, dvc_env, "git", "checkout", workspace, "--", "metrics/evaluate.json", "metrics/predictions.csv")
        proc = tool(history, dvc_env, "gate", base, check=False)  # the default: the LSTM's test RMSE
        (row,) = table_rows(proc.stdout, f"metrics/predictions.csv:{name}")
        base_value, work_value = metrics_at(history, dvc_env, base)[name], metrics_at(history, dvc_env, workspace)[name]
        assert float(row[1]) == pytest.approx(base_value, rel=1e-5)  # every test origin is common to both
        assert float(row[2]) == pytest.approx(work_value, rel=1e-5)
        assert table_rows(proc.stdout, f"metrics/evaluate.json:{name}")[0][-1] == "by DM"
        p = float(row[4])
        outcomes[work_value > base_value] = (proc.returncode, row[-1], p < 0.05)
        if work_value > base_value:
            # A stricter alpha lets the same worsening through: the tolerance plays no part.
            assert tool(history, dvc_env, "gate", base, "--alpha", str(p / 2), "--tolerance", "0").returncode == 0
            # Without predictions to compare, the tolerance rule judges the recorded RMSE, as it always did.
            (history / "metrics" / "predictions.csv").unlink()
            fallback = tool(history, dvc_env, "gate", base, "--tolerance", "0", check=False)
            assert fallback.returncode == 1 and fallback.stderr.startswith(
                "gate: no metrics/predictions.csv in the workspace: the LSTM's test errors are judged by the tolerance "
                "rule\n")
            assert table_rows(fallback.stdout, f"metrics/evaluate.json:{name}")[0][-1] == "FAIL"
            loose = str((work_value - base_value) / base_value + 0.01)
            assert tool(history, dvc_env, "gate", base, "--tolerance", loose).returncode == 0
        else:
            # An improvement still counts as a change when both directions are checked.
            both = tool(history, dvc_env, "gate", base, "--metric", name, "--tolerance", "0", "--both-ways",
                        check=False)
            assert both.returncode == 1
    sh(history, dvc_env, "git", "checkout", "HEAD", "--", "metrics/evaluate.json", "metrics/predictions.csv")
    assert outcomes == {True: (1, "FAIL", True), False: (0, "ok", True)}


def test_gate_fails_a_real_regression_and_passes_another_seed(history, dvc_env):
    # Reproduced for real against HEAD: one epoch instead of three leaves the LSTM clearly worse; seed 4 makes its
    # test RMSE worse too, by more than the old 2% tolerance allowed, but the difference is noise (p ~ 0.6).
    verdicts = {}
    try:
        for key, value in (("train.seed", 4), ("train.epochs", 1)):
            sh(history, dvc_env, "git", "checkout", "HEAD", "--", "params.yaml")
            set_param(history, key, value)
            assert "train" in repro(history, dvc_env)
            proc = tool(history, dvc_env, "gate", "HEAD", check=False)
            (row,) = table_rows(proc.stdout, "metrics/predictions.csv:test_lstm_rmse")
            verdicts[key] = (proc.returncode, row[-1], float(row[2]) > float(row[1]))
    finally:
        sh(history, dvc_env, "git", "checkout", "HEAD", "--", "params.yaml", "dvc.lock", "metrics")
        sh(history, dvc_env, "dvc", "checkout", "-q")
    assert verdicts == {"train.seed": (0, "ok", True), "train.epochs": (1, "FAIL", True)}


def test_gate_unknown_metric_is_one_line(history, dvc_env):
    proc = tool(history, dvc_env, "gate", "HEAD~1", "--metric", "test_lstm_rsme", check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: metric 'test_lstm_rsme' not found") and proc.stderr.count("\n") == 1


def gate_verdicts(stdout: str) -> dict[str, list[str]]:
    """file:metric -> the cells after the change ([p,] direction, verdict) from the gate's table."""
    rows = (line.strip("| ").split(" | ") for line in stdout.splitlines()[2:])
    return {cells[0]: cells[4:] for cells in rows}


def test_gate_judges_each_metric_in_its_direction(history, dvc_env):
    path = history / "metrics" / "evaluate.json"
    metrics = json.loads(path.read_text())
    metrics["test_lstm_rmse"] *= 1.5  # predictions.csv unchanged: the significance rule finds no difference
    metrics["val_lstm_rmse"] *= 1.5
    metrics["val_lstm_skill"] += 0.1
    metrics["test_points"] += 1
    metrics["test_lstm_coverage"] += 0.05  # further from the base's 0.9 or not, it is the workspace's nominal level
    set_param(history, "evaluate.interval", metrics["test_lstm_coverage"])
    try:
        path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        proc = tool(history, dvc_env, "gate", "HEAD", "--all", "--tolerance", "0", check=False)
        metrics["test_lstm_crps"] = 1.0
        path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        unknown = tool(history, dvc_env, "gate", "HEAD", "--all", check=False)
        both = tool(history, dvc_env, "gate", "HEAD", "--all", "--both-ways", "--tolerance", "1e-6", check=False)
    finally:
        sh(history, dvc_env, "git", "checkout", "--", "metrics/evaluate.json", "params.yaml")
    rows = {name.partition(":")[2] if name.startswith("metrics/evaluate.json:") else name: cells
            for name, cells in gate_verdicts(proc.stdout).items()}
    assert rows["metrics/predictions.csv:test_lstm_rmse"] == ["1", "lower", "ok"]
    assert rows["test_lstm_rmse"] == ["-", "lower", "by DM"] and rows["test_lstm_skill"] == ["-", "higher", "by DM"]
    assert rows["val_lstm_rmse"] == ["-", "lower", "FAIL"]
    assert rows["val_lstm_skill"] == ["-", "higher", "ok"]
    assert rows["test_points"] == ["-", "info", "-"]
    assert rows["test_lstm_coverage"] == ["-", f"nearest {metrics['test_lstm_coverage']:g} (base 0.9)", "ok"]
    # The raised nominal level also moves crossval's coverage rows (unchanged values, a new target): judged too.
    failed = {name.rpartition(":")[2] for name, cells in rows.items() if cells[-1] == "FAIL"}
    assert failed - {name for name in failed if name.startswith("fold") and name.endswith("_coverage")} == {
        "val_lstm_rmse"}
    assert proc.returncode == 1 and proc.stderr.splitlines()[-1].startswith(f"gate: {len(failed)} of ")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: metric 'test_lstm_crps' has no known direction")
    # --both-ways, as `make check-committed` runs it: any change fails, the LSTM's test RMSE too.
    rows = {name.partition(":")[2]: cells for name, cells in gate_verdicts(both.stdout).items()}
    assert rows["test_points"] == rows["test_lstm_crps"] == rows["test_lstm_rmse"] == ["either way", "FAIL"]
    assert rows["val_linear_rmse"] == ["either way", "ok"] and both.returncode == 1
    assert not any(name.startswith("metrics/predictions.csv") for name in gate_verdicts(both.stdout))


def test_committed_numbers_check_catches_a_stale_metric(history, dvc_env):
    # What .ci/run does: reproduce the committed params, then every metric must equal the committed one.
    repro(history, dvc_env, "-f")
    ok = tool(history, dvc_env, "gate", "HEAD", "--all", "--both-ways", "--tolerance", "1e-6")
    assert ok.returncode == 0 and "FAIL" not in ok.stdout
    path = history / "metrics" / "evaluate.json"
    metrics = json.loads(path.read_text())
    metrics["test_lstm_rmse"] *= 1 + 1e-5
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    stale = tool(history, dvc_env, "gate", "HEAD", "--all", "--both-ways", "--tolerance", "1e-6", check=False)
    assert stale.returncode == 1
    assert [r[-1] for r in table_rows(stale.stdout, "metrics/evaluate.json:test_lstm_rmse")] == ["FAIL"]
    sh(history, dvc_env, "git", "checkout", "--", "metrics/evaluate.json")


def test_compare_table_lists_experiments_sorted_without_hashes(history, dvc_env):
    sh(history, dvc_env, "dvc", "exp", "run", "-n", "fast", "-S", "train.lr=0.05")
    sh(history, dvc_env, "dvc", "exp", "run", "-n", "small", "-S", "train.hidden_size=4", "-S", "train.lr=0.003")
    out = tool(history, dvc_env, "compare").stdout
    header = [c.strip() for c in out.splitlines()[0].strip("|").split("|")]
    for column in ("train.lr", "train.hidden_size", "test_lstm_rmse", "test_persistence_rmse",
                   "test_seasonal_naive_rmse", "test_linear_rmse", "test_lstm_mase", "test_linear_mase"):
        assert column in header, header
    assert not MD5.search(out) and "Created" not in header
    # Sorted by the LSTM's mean cross-validation MASE, shown as mean +- sd: never by a test figure.
    assert "crossval_lstm_mase (mean ± sd)" in header and not [c for c in header if c.startswith("val_")]
    assert "train.epochs" not in header  # a param no experiment changed
    exps = [line.strip("|").split("|") for line in out.splitlines() if "[fast]" in line or "[small]" in line]
    assert len(exps) == 2
    values = [float(cells[header.index("crossval_lstm_mase (mean ± sd)")].split("±")[0]) for cells in exps]
    assert values == sorted(values)


def test_compare_and_gate_with_crossval_off(history, dvc_env):
    # crossval.folds: 0 is documented: crossval then writes only {"folds": 0}.
    head = sh(history, dvc_env, "git", "rev-parse", "HEAD").stdout.strip()
    try:
        # Earlier tests' `dvc exp run -S` leave their params in the workspace: start from HEAD's.
        sh(history, dvc_env, "git", "checkout", "-q", "--", "params.yaml")
        sh(history, dvc_env, "dvc", "exp", "run", "-n", "nocv", "-S", "crossval.folds=0")
        assert json.loads((history / "metrics" / "crossval.json").read_text()) == {"folds": 0}
        # Against HEAD (3 folds) every crossval metric vanished: shown, not judged; nothing else moved.
        gate = tool(history, dvc_env, "gate", "HEAD", "--all", check=False)
        rows = gate_verdicts(gate.stdout)
        assert rows["metrics/crossval.json:crossval_lstm_mase_mean"] == ["-", "lower", "-"]
        assert rows["metrics/crossval.json:folds"][-1] == "-" and "FAIL" not in gate.stdout
        assert gate.returncode == 0 and re.search(
            r"^gate: crossval ran at HEAD only \(crossval.folds: 3 at HEAD, 0 in the workspace\): its \d+ metric\(s\) "
            r"are shown, not judged$", gate.stderr, re.M)
        commit(history, dvc_env, "crossval off")
        # An experiment on it (plot only reruns): dvc sorts experiments, and no row has a crossval mean.
        sh(history, dvc_env, "dvc", "exp", "run", "-n", "dpi", "-S", "plot.dpi=40")
        compare = tool(history, dvc_env, "compare")
        assert compare.stderr == ("compare: no crossval_lstm_mase_mean in the workspace's metrics/crossval.json "
                                  "(crossval.folds: 0): rows sorted by the LSTM's validation RMSE, val_lstm_rmse\n")
        header = [c.strip() for c in compare.stdout.splitlines()[0].strip("|").split("|")]
        assert "val_lstm_rmse" in header and "plot.dpi" in header and "[dpi]" in compare.stdout
        asked = tool(history, dvc_env, "gate", "HEAD", "--metric", "crossval_lstm_mase_mean")
        assert asked.stderr == ("gate: crossval_lstm_mase_mean left out: crossval is off at both revisions "
                                "(crossval.folds: 0)\ngate: nothing left to judge against HEAD\n")
    finally:
        sh(history, dvc_env, "git", "reset", "-q", "--hard", head)  # a scratch repository
        sh(history, dvc_env, "dvc", "checkout", "-q")
        sh(history, dvc_env, "dvc", "exp", "remove", "nocv", "dpi", check=False)


def test_sweep_runs_the_whole_grid(history, dvc_env):
    (history / "grid.yaml").write_text("train.lr: [0.02, 0.04]\ntrain.hidden_size: [4, 6]\n")
    commit(history, dvc_env, "grid")
    proc = tool(history, dvc_env, "sweep", "--grid", "grid.yaml")  # in turn, without DVC's task queue
    shown = json.loads(sh(history, dvc_env, "dvc", "exp", "show", "--json").stdout)
    combos = set()
    for run in (exp for rev in shown for exp in (rev.get("experiments") or [])):
        data = run["revs"][0]["data"]
        params = data["params"]["params.yaml"]["data"]["train"]
        assert "test_lstm_rmse" in data["metrics"]["metrics/evaluate.json"]["data"]
        combos.add((params["lr"], params["hidden_size"]))
    assert combos == {(0.02, 4), (0.02, 6), (0.04, 4), (0.04, 6)}
    table = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert "test_lstm_rmse" in table[0]
    assert sum(1 for line in table if "├──" in line or "└──" in line) >= 4


def test_sweep_grid_errors(history, dvc_env):
    (history / "bad.yaml").write_text("train.learning_rate: [0.1]\n")
    proc = tool(history, dvc_env, "sweep", "--grid", "bad.yaml", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: bad.yaml: 'train.learning_rate' is not a key of params.yaml " \
                                  "(section.key, e.g. train.lr)"
    (history / "bad.yaml").write_text("train.lr: 0.1\n")
    proc = tool(history, dvc_env, "sweep", "--grid", "bad.yaml", check=False)
    assert proc.returncode == 2 and "'train.lr' should be a non-empty list of values, got 0.1" in proc.stderr


def test_lock_check_catches_a_commit_made_without_repro(history, dvc_env):
    assert tool(history, dvc_env, "lock", "HEAD").returncode == 0
    with open(history / "pipeline" / "plot.py", "a") as f:
        f.write("# an edit committed without dvc repro\n")
    commit(history, dvc_env, "edit plot without repro")
    assert repro(history, dvc_env) == ["plot"]
    stale = tool(history, dvc_env, "lock", "HEAD", check=False)
    assert stale.returncode == 1
    assert "stage plot: dependency pipeline/plot.py differs" in stale.stderr
    assert "error: dvc.lock at HEAD is stale" in stale.stderr
    commit(history, dvc_env, "repro")
    assert tool(history, dvc_env, "lock", "HEAD").returncode == 0
