"""dvc.yaml must declare, per stage, exactly the params section it reads and every module it imports; no
module may import a stage module (stages are scripts, the library is lstm_forecast/)."""
import ast
import dataclasses
import importlib
import re

import pytest
import yaml

from tests.helpers import ROOT, STAGES

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
PACKAGES = ("pipeline", "lstm_forecast")


def project_imports(path: str) -> set[str]:
    """The modules of this project that the file at ``path`` imports directly, as file paths."""
    found = set()
    tree = ast.parse((ROOT / path).read_text())
    # A module's __getattr__ imports only when code asks for that attribute (lstm_forecast.Forecaster): a stage
    # importing a submodule never runs it.
    lazy = {id(n) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "__getattr__"
            for n in ast.walk(f)}
    for node in (n for n in ast.walk(tree) if id(n) not in lazy):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if (ROOT / node.module.replace(".", "/")).is_dir():  # a package: its names may be modules
                names = [f"{node.module}.{alias.name}" if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py")
                         .exists() else node.module for alias in node.names]
            elif node.module.split(".")[0] in PACKAGES:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] in PACKAGES and "." in a.name]
        for name in names:
            path = name.replace(".", "/")
            found.add(f"{path}/__init__.py" if (ROOT / path).is_dir() else f"{path}.py")
            # Importing a module runs its packages' __init__.py first.
            parts = name.split(".")
            found |= {"/".join(parts[:k]) + "/__init__.py" for k in range(1, len(parts))}
    return found


def closure(path: str, seen: set[str] | None = None) -> set[str]:
    """``path`` and every project module it imports, transitively; with a module's C source (the same name
    with ``.c``, which it compiles and loads) where it has one."""
    seen = set() if seen is None else seen
    if path in seen:
        return seen
    seen.add(path)
    source = path[: -len(".py")] + ".c"
    if (ROOT / source).exists():
        seen.add(source)
    for imported in project_imports(path):
        closure(imported, seen)
    return seen


def all_modules() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_stages_are_the_eight_in_order():
    assert tuple(DVC["stages"]) == STAGES


def test_the_stage_modules_are_exactly_the_stages():
    # predict is the one command beside them: it runs the forecast stage's model outside DVC, on any file;
    # edge is what every stage adds around the library (logging, signals, the one-line errors).
    stage_modules = {p.stem for p in (ROOT / "pipeline").glob("*.py")} - {"__init__", "predict", "edge"}
    assert stage_modules == set(STAGES)


@pytest.mark.parametrize("module", all_modules() + sorted(str(p.relative_to(ROOT)) for folder in ("ci", "bench")
                                                   for p in (ROOT / folder).glob("*.py")))
def test_no_module_imports_a_stage(module):
    # Only tests drive a stage's main directly; code uses the library.
    stages = {f"pipeline/{stage}.py" for stage in STAGES}
    assert not (project_imports(module) & stages), f"{module} imports a stage module"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_declares_its_modules(stage):
    deps = {d for d in DVC["stages"][stage]["deps"] if d.split("/")[0] in PACKAGES}
    assert deps == closure(f"pipeline/{stage}.py")


@pytest.mark.parametrize("stage", STAGES)
def test_stage_declares_only_its_own_params_section(stage):
    # crossval redoes normalize, window, train and evaluate in each fold, with their params; window reads the
    # season for time_step: auto.
    extra = {"crossval": ["normalize", "window", "train", "evaluate"], "window": ["evaluate.season", "evaluate.stride", "evaluate.interval",
                                                                    "evaluate.interval_window", "evaluate.interval_method",
                                                                    "train.batch_size", "train.strategy", "forecast.steps",
                                                                    "forecast.levels", "crossval.folds"],
             "forecast": ["train", "evaluate.interval_method", "evaluate.interval_gamma", "evaluate.interval_window",
                          "evaluate.stride"]}
    assert DVC["stages"][stage]["params"] == [stage, *extra.get(stage, [])]


def test_metrics_and_plots_for_ci_are_not_cached():
    for stage in DVC["stages"].values():
        for kind in ("metrics", "plots"):
            for out in stage.get(kind, []):
                assert isinstance(out, dict) and next(iter(out.values())).get("cache") is False, out


def declared(stage: dict) -> list[tuple[str, dict]]:
    """A stage's outs, metrics and plots as (path, options)."""
    entries = [e for kind in ("outs", "metrics", "plots") for e in stage.get(kind, [])]
    pairs = [(e, {}) if isinstance(e, str) else next(iter(e.items())) for e in entries]
    return [(path, options or {}) for path, options in pairs]


@pytest.mark.parametrize("stage", STAGES)
def test_every_output_persists(stage):
    # Without persist DVC deletes the outputs before running the stage, so a failed run loses the last good
    # results (tests/test_dvc_failures.py). Only these two options: anything else would be a new decision.
    outputs = declared(DVC["stages"][stage])
    assert outputs
    for path, options in outputs:
        assert options.get("persist") is True, path
        assert set(options) <= {"persist", "cache"}, path


def params_class(stage: str) -> type:
    module = importlib.import_module(f"pipeline.{stage}")
    (cls,) = [v for k, v in vars(module).items() if k.lower() == f"{stage}params"]
    return cls


def message_strings(path: str) -> list[str]:
    """The string literals of a module, docstrings left out (they may name params to explain them)."""
    tree = ast.parse((ROOT / path).read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("module", [m for m in all_modules() if m.startswith("lstm_forecast/")
                                    and m != "lstm_forecast/config/params.py"  # its job is params' keys
                                    # The Forecaster is configured by params.yaml's sections: its keys are its own.
                                    and m != "lstm_forecast/api.py"
                                    and not m.startswith("lstm_forecast/config/")])  # the params themselves
def test_library_messages_name_no_params_key(module):
    # Errors at the edge: the library speaks of its own arguments; the stage that read params.yaml names the key.
    names = [f"{stage}.{field.name}" for stage in STAGES for field in dataclasses.fields(params_class(stage))]
    keys = re.compile(rf"\b({'|'.join(map(re.escape, names))})\b")
    assert [s for s in message_strings(module) if keys.search(s)] == []


@pytest.mark.parametrize("module", all_modules())
def test_modules_stay_small(module):
    # A module past 250 lines is doing two things; a stage past 120 holds more than its file I/O (STYLE.md).
    limit = 120 if module in {f"pipeline/{stage}.py" for stage in STAGES} else 250
    assert len((ROOT / module).read_text().splitlines()) <= limit
