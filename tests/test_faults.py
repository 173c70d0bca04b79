"""Faults during a run: signals mid-write, Ctrl-C in training, divergence, and recovery by the next repro.

Each stage runs in a subprocess that is stopped for real. A small wrapper pauses the stage at a known point
(halfway through writing an output, or just before the rename that publishes it) and says so on stdout, so
the kill lands exactly there rather than at a random moment. Ctrl-C at any moment of ``python -m pipeline.<stage>``
(as DVC runs it), its imports included, is one line and exit 130.
"""
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_forecast.model.checkpoint import load_checkpoint
from tests.helpers import ROOT, SMALL_PARAMS, commit, make_repo, full_params, repro, run_stages, sh, stage_argv, \
    write_params

# Runs one stage's main(); ``PAUSE`` picks where it stops and waits to be killed:
#   write:     halfway through writing the JSON text of an output (into its temporary file),
#   replace:N: just before the N-th rename (default the first): an output fully written to its temporary name.
WRAPPER = """
import os, pathlib, sys, time, importlib
stage, pause, argv = sys.argv[1], sys.argv[2], sys.argv[3:]

def wait():
    print("PAUSED", flush=True)
    time.sleep(120)

if pause == "write":
    def write_text(self, text, *args, **kwargs):
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
            f.flush()
            wait()
            f.write(text[len(text) // 2 :])
        return len(text)
    pathlib.Path.write_text = write_text
elif pause.startswith("replace"):
    real_replace, calls, stop_at = os.replace, [], int(pause.partition(":")[2] or 1)
    def replace(src, dst):
        calls.append(dst)
        if len(calls) == stop_at:
            wait()
        real_replace(src, dst)
    os.replace = replace
sys.exit(importlib.import_module(f"pipeline.{stage}").main(argv))
"""


def start(stage: str, pause: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WRAPPER, stage, pause, *stage_argv(stage)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(proc: subprocess.Popen, marker: str, stream: str = "stdout") -> None:
    source = getattr(proc, stream)
    for line in source:
        if marker in line:
            return
    raise AssertionError(f"stage ended before {marker!r}: exit {proc.wait()}, stderr:\n{proc.stderr.read()}")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


@pytest.mark.parametrize("pause", ["write", "replace"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_killed_stage_leaves_the_previous_output_intact(tiny_project, pause, sig):
    run_stages(["ingest", "normalize"])
    outputs = [tiny_project / "data" / "scaled.parquet", tiny_project / "data" / "normalize.json"]
    before = [p.read_bytes() for p in outputs]
    # Different fractions, so a finished write changes both files.
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "normalize": {**SMALL_PARAMS["normalize"], "train": 0.5,
                                                                              "val": 0.25, "test": 0.25}})
    proc = start("normalize", pause)
    wait_for(proc, "PAUSED")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    after_kill = [p.read_bytes() for p in outputs]
    if sig != signal.SIGKILL:
        assert proc.returncode == 128 + sig
        assert err.strip().splitlines()[-1] == {
            signal.SIGTERM: "error: stopped by SIGTERM; no output was left half-written (dvc repro reruns the stage)",
            signal.SIGINT: "error: interrupted (Ctrl-C); no output was left half-written (dvc repro reruns the stage)",
        }[sig]
        assert leftovers(outputs[0].parent) == []  # cleaned up on the way out
    else:
        assert proc.returncode == -signal.SIGKILL
    # The next run recovers: it writes the new files and removes what a SIGKILL left behind.
    run_stages(["normalize"])
    final = [p.read_bytes() for p in outputs]
    assert json.loads(outputs[1].read_text())["splits"]["train"] == [0, 120]
    assert leftovers(outputs[0].parent) == []
    assert final[0] != before[0] and final[1] != before[1]
    # The file being written when the signal came is the previous one, byte for byte (never truncated).
    # Normalize writes the Parquet file first: paused at its rename, both are old; paused in the JSON, the
    # Parquet file is already the new one, whole. DVC reruns a stage that did not finish either way.
    assert after_kill[1] == before[1]
    assert after_kill[0] == (before[0] if pause == "replace" else final[0])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_train_stage_killed_while_swapping_the_curves(tiny_project, sig):
    run_stages(["ingest", "normalize", "window", "train"])
    live = tiny_project / "metrics" / "train"
    files = lambda: {p.relative_to(live): p.read_bytes() for p in live.rglob("*") if p.is_file()}  # noqa: E731
    before = files()
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "train": {**SMALL_PARAMS["train"], "epochs": 2}})
    # Renames: 1 the checkpoint, 2 the old curves aside, 3 the new curves in. Stop between 2 and 3.
    proc = start("train", "replace:3")
    wait_for(proc, "PAUSED")
    assert not live.exists()
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    load_checkpoint(tiny_project / "models" / "model.pt")  # the new checkpoint, whole
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert files() == before  # put back on the way out
        assert leftovers(live.parent) == []
    else:
        assert proc.returncode == -signal.SIGKILL
        assert not live.exists()  # none, never a partial folder; the next run writes it
        run_stages(["train"])
        assert len(json.loads((live / "metrics.json").read_text())) > 0 and leftovers(live.parent) == []


def test_ctrl_c_stops_training_after_the_batch_and_saves_nothing(tiny_project):
    run_stages(["ingest", "normalize", "window"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "train": {**SMALL_PARAMS["train"], "epochs": 100000}})
    proc = start("train", "none")
    wait_for(proc, "training on", stream="stderr")
    time.sleep(1.0)  # well into training
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted (Ctrl-C) at epoch ")
    assert last.endswith("; nothing was saved (dvc repro reruns the stage)")
    # Stopped after a batch, or, if the signal came while the epoch was being validated, after that.
    where = last.split(" at epoch ")[1].split(";")[0].split(", ", 1)[1]
    if where != "after its validation":
        batch, of = map(int, where.removeprefix("after batch ").split(" of "))
        assert 1 <= batch <= of == 9  # 140 windows in batches of 16
    assert not (tiny_project / "models").exists() and not (tiny_project / "metrics").exists()


def test_the_next_repro_recovers_after_dvc_itself_is_killed(tmp_path, dvc_env):
    repo = make_repo(tmp_path / "repo", dvc_env, full_params(**{"train.epochs": 100000}))
    proc = subprocess.Popen(["dvc", "repro", "--no-run-cache"], cwd=repo, env=dvc_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    wait_for(proc, "training on")
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)  # dvc and the stage under it, with no chance to clean up
    proc.wait(timeout=60)
    assert not (repo / "models" / "model.pt").exists()
    write_params(repo / "params.yaml", full_params())
    commit(repo, dvc_env, "back to 3 epochs")
    # Its stale lock does not block the rerun.
    assert repro(repo, dvc_env) == ["train", "evaluate", "crossval", "forecast", "plot"]
    assert "up to date" in sh(repo, dvc_env, "dvc", "status").stdout


# Put on PYTHONPATH as sitecustomize.py: the stage's `import torch` (its first seconds) waits to be
# interrupted, and says so on stdout, so the Ctrl-C lands inside that import rather than at a random moment.
PAUSE_IN_IMPORT = """
import sys, time

class PauseBeforeTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            print("IMPORTING torch", flush=True)
            time.sleep(120)
        return None

sys.meta_path.insert(0, PauseBeforeTorch())
"""


@pytest.mark.parametrize("moment", ["importing torch", "training"])
def test_ctrl_c_at_any_moment_of_a_stage_run_as_dvc_runs_it_is_one_line(tiny_project, tmp_path_factory, moment):
    run_stages(["ingest", "normalize", "window"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "train": {**SMALL_PARAMS["train"], "epochs": 100000}})
    path = [str(ROOT)]
    if moment == "importing torch":
        hook = tmp_path_factory.mktemp("hook")
        (hook / "sitecustomize.py").write_text(PAUSE_IN_IMPORT)
        path.insert(0, str(hook))
    # As dvc.yaml's cmd runs it: `python -m pipeline.train`, not a wrapper that imports the stage.
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.train", *stage_argv("train")],
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    if moment == "importing torch":
        wait_for(proc, "IMPORTING torch")
    else:
        for line in proc.stderr:  # the log, up to the start of training
            seen.append(line)
            if "training on" in line:
                break
        time.sleep(1.0)  # well into training
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # nothing once it has exited; a stage that missed the Ctrl-C must not train on
    lines = "".join(seen + [err]).splitlines()
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "Traceback" not in err
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]]
    assert lines[-1].startswith("error: interrupted (Ctrl-C)")
    if moment == "importing torch":
        assert lines == ["error: interrupted (Ctrl-C); no output was left half-written (dvc repro reruns the stage)"]
    assert not (tiny_project / "models").exists()


def test_importing_the_stages_leaves_ctrl_c_alone():
    # The tests, pipeline.predict's callers and notebooks import stage modules: Ctrl-C stays KeyboardInterrupt.
    importlib.import_module("pipeline.train")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
