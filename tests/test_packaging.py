"""`pip install .` without extras gives a library that works on its own: a fresh virtual environment outside the
checkout, the package installed non-editably at requirements.lock's versions, and nothing of the checkout on
its path. docs/python.md's code runs there as written."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import ROOT

# What the stages and tools need beside the library: extras (pip install .[pipeline]), not the core.
EXTRAS = ("dvc", "dvclive", "optuna", "onnx", "onnxruntime")
LIBRARY = ("lstm_forecast.model.training", "lstm_forecast.evaluation.backtest", "lstm_forecast.future.bands",
           "lstm_forecast.model.export", "lstm_forecast.figures", "lstm_forecast.data.files")
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[^\S\n]*\n(?P<body>.*?)^(?P=indent)```[^\S\n]*$", re.M | re.S)


@dataclass(frozen=True)
class Install:
    python: Path
    outside: Path  # an empty folder outside the checkout, to run in
    seconds: float


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would put the checkout or .venv on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


def run_in(python: Path, code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env=clean_env(**env))


def copy_of_the_checkout(dest: Path) -> Path:
    """The checkout's files as a clone would have them, plus new files not yet committed (not the ignored ones:
    .venv, DVC's cache, build outputs). setuptools builds in the source folder (build/, *.egg-info): in a copy,
    the checkout and other test runs beside it stay untouched."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree is listed but gone
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(source.read_bytes())
    return dest


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Install:
    base = tmp_path_factory.mktemp("fresh-install")
    assert not base.resolve().is_relative_to(ROOT.resolve())
    source = copy_of_the_checkout(base / "src")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True)
    python = base / "venv" / "bin" / "python"
    # This pip installs into the new environment (--python), which needs none of its own. --no-compile: the
    # bytecode is written on first import instead; compiling all of torch up front took a minute more.
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile",
                           "--disable-pip-version-check", "-c", str(ROOT / "requirements.lock"), str(source)],
                          cwd=base, capture_output=True, text=True, env=clean_env(), timeout=1200)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, f"pip install of the checkout failed:\n{proc.stderr[-4000:]}"
    print(f"\nfresh virtual environment: pip install of the checkout took {seconds:.0f} s")
    (base / "outside").mkdir()
    return Install(python, base / "outside", seconds)


def test_the_installed_package_is_the_fresh_environments_not_the_checkout(fresh):
    proc = run_in(fresh.python, "import lstm_forecast, sys; print(lstm_forecast.__file__); print(sys.prefix)",
                  fresh.outside)
    assert proc.returncode == 0, proc.stderr
    location, prefix = (Path(line) for line in proc.stdout.splitlines())
    assert location == fresh.python.parent.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" \
        / "site-packages" / "lstm_forecast" / "__init__.py"
    assert prefix == fresh.python.parent.parent
    assert not location.resolve().is_relative_to(ROOT.resolve())


def test_no_pipeline_package_is_installed(fresh):
    proc = run_in(fresh.python, "import pipeline", fresh.outside)
    assert proc.returncode != 0 and "No module named 'pipeline'" in proc.stderr, proc.stderr


def test_the_core_install_has_no_extras_and_the_library_imports_without_them(fresh):
    missing = run_in(fresh.python, "import importlib\nfor name in %r:\n    try:\n        importlib.import_module(name)\n"
                     "    except ModuleNotFoundError:\n        print(name)" % (EXTRAS,), fresh.outside)
    assert missing.stdout.split() == list(EXTRAS), missing.stderr
    library = run_in(fresh.python, f"import {', '.join(LIBRARY)}", fresh.outside)
    assert library.returncode == 0, library.stderr


def test_the_c_kernel_source_is_installed_and_builds(fresh, tmp_path):
    # A cache folder of its own: the kernel is compiled from the installed source, not found already built.
    code = """
import torch
from lstm_forecast.model import lstm_cpu
from lstm_forecast.model.network import LSTMForecaster, ModelConfig
print(lstm_cpu.SOURCE)
torch.manual_seed(0)
c, ref = LSTMForecaster(ModelConfig()), LSTMForecaster(ModelConfig(lstm_kernel="torch"))
ref.load_state_dict(c.state_dict())
x = torch.randn(3, 12, 1)
with torch.no_grad():
    assert torch.allclose(c(x), ref(x), atol=1e-5)
assert lstm_cpu._libs and not any(isinstance(lib, str) for lib in lstm_cpu._libs.values()), lstm_cpu._libs
"""
    proc = run_in(fresh.python, code, fresh.outside, XDG_CACHE_HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    source = Path(proc.stdout.strip())
    assert source.parent.parent.parent.name == "site-packages" and source.name == "lstm_cpu.c"
    assert source.read_bytes() == (ROOT / "lstm_forecast" / "model" / "lstm_cpu.c").read_bytes()
    assert list(tmp_path.rglob("*.so")), "no kernel was built into the fresh cache"


def run_markdown_python(md_path: Path, python: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run every ```python block of ``md_path``, in order, as one script with ``python`` in ``cwd``; fail the
    test with the script's stderr if it exits non-zero."""
    blocks = [dedent_block(m["body"], m["indent"]) for m in FENCE.finditer(Path(md_path).read_text())]
    if not blocks:
        pytest.fail(f"{md_path}: no ```python block to run")
    script = Path(cwd).parent / f".{Path(md_path).stem}-blocks.py"  # beside cwd: the doc's folder stays its own
    script.write_text("\n".join(blocks))
    proc = subprocess.run([str(python), str(script)], cwd=cwd, capture_output=True, text=True, timeout=1200,
                          env=clean_env())
    if proc.returncode != 0:
        pytest.fail(f"{md_path}: its {len(blocks)} python blocks, run as one script ({script}), exited "
                    f"{proc.returncode}:\n{proc.stderr}", pytrace=False)
    return proc


def dedent_block(body: str, indent: str) -> str:
    """A fenced block's lines without the fence's own indentation (a block inside a list item)."""
    return "".join(line[len(indent):] if line.startswith(indent) else line for line in body.splitlines(True))


def test_the_markdown_runner_runs_the_python_blocks_in_order_and_only_them(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "doc.md").write_text(
        "# Title\n\n```python\nfrom pathlib import Path\nn = 2\n```\n\nText, then a shell block that must not run:\n\n"
        "```bash\nexit 1\n```\n\n1. In a list:\n\n   ```python\n   Path('out.txt').write_text(str(n * 21))\n   ```\n\n"
        "```pycon\n>>> raise SystemExit(1)\n```\n")
    run_markdown_python(tmp_path / "doc.md", Path(sys.executable), work)
    assert (work / "out.txt").read_text() == "42" and sorted(p.name for p in work.iterdir()) == ["out.txt"]


def test_the_markdown_runner_fails_with_the_scripts_stderr(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "bad.md").write_text("```python\nx = 1\n```\n\n```python\nx / 0\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)bad.md: its 2 python blocks.*exited 1:.*ZeroDivisionError"):
        run_markdown_python(tmp_path / "bad.md", Path(sys.executable), tmp_path / "work")
    (tmp_path / "none.md").write_text("no code here\n")
    with pytest.raises(pytest.fail.Exception, match=r"none.md: no ```python block to run"):
        run_markdown_python(tmp_path / "none.md", Path(sys.executable), tmp_path / "work")


def test_docs_python_md_runs_as_written_in_the_fresh_install(fresh, tmp_path):
    # The doc reads the shipped data as ../shared/data/...: a working folder beside a link to shared/.
    doc = ROOT / "docs" / "python.md"
    if not doc.is_file():
        pytest.fail(f"{doc.relative_to(ROOT)} does not exist yet: the library's guide (from lstm_forecast import "
                    "Forecaster; fit, predict, cross-validate, save, load) must be written, and run here as written",
                    pytrace=False)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared", target_is_directory=True)
    run_markdown_python(doc, fresh.python, work)
