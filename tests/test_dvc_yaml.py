"""dvc.yaml must declare, per stage, exactly the params section it reads and every pipeline module it imports."""
import ast

import pytest
import yaml

from tests.helpers import ROOT, STAGES

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())


def pipeline_imports(module: str, seen: set[str] | None = None) -> set[str]:
    """``module`` and every pipeline module it imports, transitively, as file paths; with a module's C
    source (``pipeline/<module>.c``, which it compiles and loads) where it has one."""
    seen = set() if seen is None else seen
    path = f"pipeline/{module}.py"
    if path in seen:
        return seen
    seen.add(path)
    if (ROOT / f"pipeline/{module}.c").exists():
        seen.add(f"pipeline/{module}.c")
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pipeline":
                names = [alias.name for alias in node.names]
            elif node.module.startswith("pipeline."):
                names = [node.module.split(".", 1)[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".", 1)[1] for a in node.names if a.name.startswith("pipeline.")]
        for name in names:
            pipeline_imports(name, seen)
    return seen


def test_stages_are_the_six_in_order():
    assert tuple(DVC["stages"]) == STAGES


@pytest.mark.parametrize("stage", STAGES)
def test_stage_declares_its_modules(stage):
    deps = {d for d in DVC["stages"][stage]["deps"] if d.startswith("pipeline/")}
    assert deps == pipeline_imports(stage)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_declares_only_its_own_params_section(stage):
    assert DVC["stages"][stage]["params"] == [stage]


def test_metrics_and_plots_for_ci_are_not_cached():
    for stage in DVC["stages"].values():
        for kind in ("metrics", "plots"):
            for out in stage.get(kind, []):
                assert isinstance(out, dict) and next(iter(out.values())) == {"cache": False}, out
