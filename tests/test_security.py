"""Security: nothing from a file or a param is executed, and no stage output lands outside the project."""
import ast
import importlib
import os
from pathlib import Path

import pytest
import yaml

from lstm_forecast.errors import UserError
from lstm_forecast.data.files import atomic_dir, atomic_path, check_outputs, write_json
from pipeline.ingest import main as ingest_main
from tests.helpers import ROOT, STAGES, declared_outputs, stage_argv, unwritable

# The library with its subpackages, the stages, and the tools.
SOURCES = sorted([*(ROOT / "lstm_forecast").rglob("*.py"), *(ROOT / "pipeline").glob("*.py"),
                  *(ROOT / "ci").glob("*.py"), *(ROOT / "bench").glob("*.py")])


def calls(path: Path):
    """Every call in a source file as (dotted name, keyword names, line)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), {k.arg: k.value for k in node.keywords}, node.lineno


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_is_run_from_data(path):
    for name, keywords, line in calls(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        assert name not in ("eval", "exec", "compile", "pickle.load", "pickle.loads", "yaml.load", "yaml.unsafe_load",
                            "os.system"), f"{where}: {name}"
        if name == "torch.load":
            value = keywords.get("weights_only")
            assert isinstance(value, ast.Constant) and value.value is True, f"{where}: torch.load without weights_only"
        if name.startswith("subprocess."):
            value = keywords.get("shell")
            assert value is None or (isinstance(value, ast.Constant) and value.value is False), f"{where}: shell=True"


def test_the_scan_covers_the_library_and_its_subpackages():
    scanned = {str(p.relative_to(ROOT)) for p in SOURCES}
    assert {"lstm_forecast/errors.py", "lstm_forecast/model/checkpoint.py", "lstm_forecast/data/files.py",
            "lstm_forecast/model/lstm_cpu.py", "pipeline/edge.py"} <= scanned
    # torch.load is the library's (checkpoint.py): the scan must see it there, with weights_only=True.
    loads = [(p, k) for p in SOURCES if "lstm_forecast" in p.parts for name, k, _ in calls(p) if name == "torch.load"]
    assert loads and all(ast.unparse(k["weights_only"]) == "True" for _, k in loads)


def test_the_scan_sees_the_calls_it_forbids(tmp_path):
    # The check above must be able to fail: a file with each forbidden call trips it.
    bad = tmp_path / "bad.py"
    bad.write_text("import torch, yaml\neval('1')\nyaml.load(s)\ntorch.load(p)\ntorch.load(p, weights_only=False)\n")
    found = [(name, line) for name, _, line in calls(bad)]
    assert ("eval", 2) in found and ("yaml.load", 3) in found
    assert [k for name, k, _ in calls(bad) if name == "torch.load"][0] == {}


@pytest.mark.parametrize("path", ["../outside.json", "/tmp/outside.json", "data/../../outside.json"])
def test_outputs_cannot_leave_the_project(in_tmp, path):
    with pytest.raises(UserError, match=r"outside the project folder .*; stages write only inside it$"):
        check_outputs("data/fine.json", path)
    assert not (in_tmp.parent / "outside.json").exists() and list(in_tmp.iterdir()) == []


def test_the_library_writes_wherever_it_is_told_still_atomically(in_tmp, tmp_path_factory):
    # The project rule is the stages' (check_outputs, called by each on its paths first), not the writers'.
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    write_json(elsewhere / "a.json", {"b": 1, "a": 2})
    write_json("params-copy.json", {})  # the top level of the working folder, which no stage may write
    with atomic_dir(elsewhere / "folder") as tmp:
        (tmp / "x").write_text("x")
    with pytest.raises(RuntimeError):
        with atomic_path(elsewhere / "a.json") as tmp:
            tmp.write_text("half")
            raise RuntimeError("stopped mid-write")
    assert (elsewhere / "a.json").read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'  # the old file, whole
    assert (elsewhere / "folder" / "x").read_text() == "x" and (in_tmp / "params-copy.json").exists()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["a.json", "folder"]  # no temporary file left


@pytest.mark.parametrize("path", ["params.yaml", "dvc.lock", "./x.json", "pipeline/train.py", ".git/config",
                                  ".dvc/config", "tests/x.json", "data/../dvc.yaml"])
def test_outputs_stay_out_of_the_projects_own_files(in_tmp, path):
    (in_tmp / "params.yaml").write_text("keep: me\n")
    with pytest.raises(UserError, match=r"not an output folder; stages write into a folder of the project such as "
                                        r"data/, models/ or metrics/, not its top level or \.git, .*pipeline"):
        check_outputs(path)
    assert (in_tmp / "params.yaml").read_text() == "keep: me\n"


def test_outputs_inside_an_output_folder_are_fine(in_tmp):
    with atomic_path("data/inside.json") as tmp:  # however it is spelled
        tmp.write_text("{}")
    check_outputs(in_tmp / "metrics" / "x.json", "models/../data/y.json", "data/sub/z.json")
    assert (in_tmp / "data" / "inside.json").read_text() == "{}"


def test_an_unwritable_output_folder_is_refused_before_any_work(in_tmp):
    (in_tmp / "metrics").mkdir()
    with unwritable(in_tmp / "metrics"):
        with pytest.raises(UserError, match=r"^metrics/x\.json: its folder metrics cannot take a new file "
                                            r"\(Operation not permitted\); make it writable$"):
            check_outputs("data/y.json", "metrics/x.json")
        with pytest.raises(UserError, match=r"^metrics/sub/x\.json: its folder metrics/sub cannot take a new file"):
            check_outputs("metrics/sub/x.json")  # a missing folder is created, here refused
        assert list((in_tmp / "metrics").iterdir()) == []  # no probe left behind
    assert sorted(p.name for p in in_tmp.iterdir()) == ["metrics"]  # data/ was made for the probe, then removed


def test_a_symlink_out_of_the_project_is_refused(in_tmp, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    os.symlink(elsewhere, in_tmp / "link")
    with pytest.raises(UserError, match=r"link/x.json: outside the project folder"):
        check_outputs("link/x.json")
    assert list(elsewhere.iterdir()) == []


def stage_outputs() -> list[tuple[str, str]]:
    """Every (stage, option) whose value in dvc.yaml's cmd is one of the stage's outs, metrics or plots."""
    stages, found = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"], []
    for stage in STAGES:
        entries = [e for kind in ("outs", "metrics", "plots") for e in stages[stage].get(kind, [])]
        outs = {e if isinstance(e, str) else next(iter(e)) for e in entries}
        argv = stage_argv(stage)
        found += [(stage, option) for option, value in zip(argv, argv[1:]) if value in outs]
    return found


def test_every_declared_output_has_its_option():
    pairs = stage_outputs()
    assert len(pairs) == len(declared_outputs(ROOT)) and ("train", "--live") in pairs


@pytest.mark.parametrize("stage, option", stage_outputs())
def test_a_stage_refuses_a_bad_output_path_before_doing_any_work(tiny_project, capsys, stage, option):
    # Checked up front, for every output (the library's writers no longer check): train must not spend its
    # epochs and write the checkpoint before the curves fail.
    argv = stage_argv(stage)
    argv[argv.index(option) + 1] = "../escape"
    main = importlib.import_module(f"pipeline.{stage}").main
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ../escape: outside the project folder")
    assert sorted(p.name for p in tiny_project.iterdir()) == ["params.yaml", "series.csv"]  # nothing written


def test_params_are_read_with_a_safe_loader(tiny_project, capsys):
    # A YAML tag that an unsafe loader would turn into a call is just an error here.
    (tiny_project / "params.yaml").write_text("ingest: !!python/object/apply:os.system ['touch pwned']\n")
    assert ingest_main(stage_argv("ingest")) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert not (tiny_project / "pwned").exists()
