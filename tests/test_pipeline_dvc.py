"""End to end: the real `dvc` and `git` in a temporary repository, on a shortened config."""
import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT, SMALL_PARAMS, STAGES, sine_series, write_params


def sh(cwd, env, *args, check=True):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def repro(repo, env, *extra) -> list[str]:
    """Run `dvc repro` without the run cache; return the stages that ran, in order."""
    out = sh(repo, env, "dvc", "repro", "--no-run-cache", *extra).stdout
    return re.findall(r"Running stage '(\w+)'", out)


def set_param(repo, key, value):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    section, name = key.split(".")
    params[section][name] = value
    write_params(repo / "params.yaml", params)


@pytest.fixture(scope="module")
def repo(tmp_path_factory, dvc_env):
    """A git + DVC repository with the pipeline, a 240-point series and a 3-epoch config, reproduced once."""
    repo = tmp_path_factory.mktemp("project")
    env = dvc_env
    shutil.copytree(ROOT / "pipeline", repo / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", repo / "dvc.yaml")
    sine_series().to_csv(repo / "series.csv", index=False)
    write_params(repo / "params.yaml", SMALL_PARAMS)
    sh(repo, env, "git", "init", "-q")
    sh(repo, env, "dvc", "init", "-q")
    sh(repo, env, "git", "add", "-A")
    sh(repo, env, "git", "commit", "-qm", "pipeline")
    assert repro(repo, env) == list(STAGES)
    sh(repo, env, "git", "add", "-A")
    sh(repo, env, "git", "commit", "-qm", "first run")
    return repo


def test_nothing_to_do_after_a_run(repo, dvc_env):
    assert repro(repo, dvc_env) == []
    assert "up to date" in sh(repo, dvc_env, "dvc", "status").stdout


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("plot.dpi", 40, ["plot"]),
        # season changes only the baselines' metrics, not the predictions plot reads: plot stays put.
        ("evaluate.season", 12, ["evaluate"]),
        ("train.lr", 0.02, ["train", "evaluate", "plot"]),
        ("window.time_step", 10, ["window", "train", "evaluate", "plot"]),
        ("normalize.method", "minmax", ["normalize", "window", "train", "evaluate", "plot"]),
        ("ingest.stop", 230, list(STAGES)),
    ],
)
def test_a_param_reruns_only_the_stages_that_read_it(repo, dvc_env, key, value, expected):
    set_param(repo, key, value)
    assert repro(repo, dvc_env) == expected
    assert repro(repo, dvc_env) == []


def test_forced_reruns_give_byte_identical_metrics(repo, dvc_env):
    repro(repo, dvc_env, "-f")
    first = (repo / "metrics" / "evaluate.json").read_bytes()
    assert repro(repo, dvc_env, "-f") == list(STAGES)
    assert (repo / "metrics" / "evaluate.json").read_bytes() == first
    assert json.loads(first)["test_points"] > 0


def test_experiments_metrics_and_plots_work(repo, dvc_env):
    env = dvc_env
    sh(repo, env, "git", "add", "-A")
    sh(repo, env, "git", "commit", "-qm", "baseline", check=False)
    sh(repo, env, "dvc", "exp", "run", "-n", "faster", "-S", "train.lr=0.05")
    shown = json.loads(sh(repo, env, "dvc", "exp", "show", "--json").stdout)
    runs = [exp for rev in shown for exp in (rev.get("experiments") or [])]
    names = {run.get("name") for run in runs}
    assert "faster" in names
    params_diff = sh(repo, env, "dvc", "params", "diff", "HEAD", "faster", "--json").stdout
    assert json.loads(params_diff)["params.yaml"]["train.lr"]["new"] == 0.05
    metrics_diff = json.loads(sh(repo, env, "dvc", "metrics", "diff", "HEAD", "faster", "--json").stdout)
    assert "test_lstm_rmse" in metrics_diff["metrics/evaluate.json"]
    sh(repo, env, "dvc", "plots", "diff", "HEAD", "faster", "-o", "plots_html")
    html = (repo / "plots_html" / "index.html").read_text()
    assert "Forecast vs actual" in html and "Loss curves" in html
