"""End to end: the real `dvc` and `git` in a temporary repository, on a shortened config."""
import json

import pytest

from tests.helpers import SMALL_PARAMS, STAGES, commit, make_repo, repro, set_param, sh


@pytest.fixture(scope="module")
def repo(tmp_path_factory, dvc_env):
    """A git + DVC repository with the pipeline, a 240-point series and a 3-epoch config, reproduced once."""
    repo = make_repo(tmp_path_factory.mktemp("project"), dvc_env, SMALL_PARAMS)
    assert repro(repo, dvc_env) == list(STAGES)
    commit(repo, dvc_env, "first run")
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
    commit(repo, env, "baseline")
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
