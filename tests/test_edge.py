"""The stage edge (pipeline/edge.py) adds what only a stage run by DVC needs; the library assumes none of it."""
import logging
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

from lstm_forecast import errors
from lstm_forecast.data.artifacts import LAYOUT, Normalization
from lstm_forecast.errors import Interrupted, StaleArtifact, StopAfterBatch, UserError
from pipeline import edge
from tests.helpers import ROOT, stage_argv, write_params


def run_python(code: str, cwd=ROOT, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_a_stale_artifact_says_what_is_wrong_and_the_stage_adds_how_to_regenerate_it(capsys):
    with pytest.raises(StaleArtifact) as caught:
        Normalization.from_json({"layout": 1}, "data/normalize.json")
    assert str(caught.value) == f"data/normalize.json: written in artifact layout 1, this code reads layout {LAYOUT}"

    @edge.stage_main
    def main(argv):
        raise caught.value

    assert main([]) == errors.USER_ERROR_EXIT
    assert capsys.readouterr().err == (f"error: data/normalize.json: written in artifact layout 1, this code reads "
                                       f"layout {LAYOUT}; rerun the pipeline to regenerate it: dvc repro\n")
    assert edge.user_message(UserError("x.csv: empty")) == "x.csv: empty"  # other mistakes get no advice


def test_a_missing_input_says_which_and_a_real_stage_adds_where_it_comes_from(tmp_path, monkeypatch):
    from lstm_forecast.data.files import read_parquet
    from lstm_forecast.model.checkpoint import load_checkpoint

    monkeypatch.chdir(tmp_path)
    with pytest.raises(errors.MissingInput, match=r"^data/scaled.parquet: file not found$"):
        read_parquet("data/scaled.parquet")
    with pytest.raises(errors.MissingInput, match=r"^models/model.pt: checkpoint not found$"):
        load_checkpoint("models/model.pt")
    write_params(tmp_path / "params.yaml", {"normalize": {}})
    proc = subprocess.run([sys.executable, "-m", "pipeline.normalize", *stage_argv("normalize")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == errors.USER_ERROR_EXIT
    assert proc.stderr.splitlines()[-1] == ("error: data/series.parquet: file not found; run the upstream stage "
                                            "first: dvc repro")


def test_the_library_speaks_of_no_dvc_when_training_is_interrupted(capsys):
    stop = StopAfterBatch()
    stop.requested = True
    with pytest.raises(Interrupted) as caught:
        stop.check("at epoch 2, after batch 3 of 9")
    assert str(caught.value) == "interrupted (Ctrl-C) at epoch 2, after batch 3 of 9; nothing was saved"

    @edge.stage_main
    def main(argv):
        raise caught.value

    assert main([]) == 128 + signal.SIGINT
    assert capsys.readouterr().err == ("error: interrupted (Ctrl-C) at epoch 2, after batch 3 of 9; nothing was "
                                       "saved (dvc repro reruns the stage)\n")


def test_the_log_names_the_stage_and_the_library_module_by_its_last_name():
    formatter = edge.ShortNames()
    line = lambda name: formatter.format(logging.LogRecord(name, logging.INFO, "f.py", 1, "%d left", (3,), None))  # noqa: E731
    assert line("lstm_forecast.model.progress") == "progress: 3 left"
    assert line("train") == "train: 3 left"


def test_a_stage_log_through_a_real_run(tmp_path):
    # ingest's own line and the library's (lstm_forecast.data.series), as `python -m pipeline.ingest` prints them.
    pd.DataFrame({"value": [None, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}).to_csv(tmp_path / "series.csv", index=False)
    write_params(tmp_path / "params.yaml", {"ingest": {"path": "series.csv"}})
    proc = subprocess.run([sys.executable, "-m", "pipeline.ingest", *stage_argv("ingest")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert "series: left out 1 empty rows before the first value (row 2)" in lines, lines
    assert any(line.startswith("ingest: ") for line in lines), lines


def test_the_stages_draw_with_agg_and_the_library_leaves_the_backend_to_its_caller():
    show = "import matplotlib; print(matplotlib.get_backend().lower())"
    assert run_python(f"import lstm_forecast.figures; {show}", MPLBACKEND="svg").stdout.strip() == "svg"
    assert run_python(f"import pipeline.plot; {show}", MPLBACKEND="svg").stdout.strip() == "agg"


def test_the_library_installs_no_signal_handler_on_import():
    code = ("import signal, lstm_forecast.model.training, lstm_forecast.errors, lstm_forecast.figures; "
            "from lstm_forecast import Forecaster; "
            "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
            "signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)")
    assert run_python(code).stdout.split() == ["True", "True"]
    # Nor after fitting and forecasting: training takes Ctrl-C over for a batch only, and gives it back.
    fit = ("import signal; from tests.helpers import SMALL_PARAMS, sine_series; from lstm_forecast import Forecaster; "
           "raw = sine_series(); import pandas as pd; "
           "df = pd.DataFrame({'unique_id': 'a', 'ds': raw['date'], 'y': raw['level']}); "
           "s = {k: v for k, v in SMALL_PARAMS.items() if k != 'ingest'}; Forecaster(**s).fit(df).predict(2); "
           "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
           "signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)")
    assert run_python(fit).stdout.split() == ["True", "True"]
