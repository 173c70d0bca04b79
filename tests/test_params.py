import dataclasses
import importlib
from dataclasses import dataclass
from typing import Literal

import pytest
import yaml

from lstm_forecast.errors import UserError
from lstm_forecast.config.params import load_section, parse_section
from pipeline.train import TrainParams
from tests.helpers import ROOT, STAGES


@dataclass(frozen=True)
class Example:
    count: int = 1
    rate: float = 0.5
    name: str | None = None
    mode: Literal["a", "b"] = "a"
    flag: bool = False


def test_defaults_when_section_is_empty():
    assert parse_section(Example, "ex", {}) == Example()


def test_values_are_typed():
    got = parse_section(Example, "ex", {"count": 3, "rate": 2, "name": "x", "mode": "b", "flag": True})
    assert got == Example(3, 2.0, "x", "b", True)
    assert isinstance(got.rate, float)


def test_unknown_key_names_section_and_suggests():
    with pytest.raises(UserError, match=r"unknown param 'ex.rat'; did you mean 'ex.rate'\?"):
        parse_section(Example, "ex", {"rat": 1.0})


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"count": 1.5}, r"ex.count=1.5 should be a whole number"),
        ({"count": True}, r"ex.count=True should be a whole number"),
        ({"rate": "fast"}, r"ex.rate='fast' should be a number"),
        ({"mode": "c"}, r"ex.mode='c' is not valid; choose one of: a, b"),
        ({"flag": 1}, r"ex.flag=1 should be true or false"),
        ({"name": 3.5}, r"ex.name=3.5 should be a string"),
    ],
)
def test_wrong_types_are_named(raw, message):
    with pytest.raises(UserError, match=message):
        parse_section(Example, "ex", raw)


def test_whole_number_is_accepted_as_a_name():
    # `sheet: 2024` reads from YAML as an int; it names a sheet.
    assert parse_section(Example, "ex", {"name": 2024}).name == "2024"


def test_exponent_without_dot_is_a_number():
    # YAML 1.1 reads 1e-3 as a string; `dvc exp run -S train.lr=1e-3` writes exactly that.
    assert parse_section(Example, "ex", {"rate": "1e-3"}).rate == 0.001


def test_validate_runs_after_parsing():
    with pytest.raises(UserError, match=r"train.lr=-1.0 should be a positive number"):
        parse_section(TrainParams, "train", {"lr": -1})


def test_load_section_reads_only_its_section(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  epochs: 5\nother:\n  junk: 1\n")
    assert load_section(TrainParams, "train", path).epochs == 5


def test_load_section_errors(tmp_path):
    with pytest.raises(UserError, match=r"params file not found"):
        load_section(TrainParams, "train", tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(UserError, match=r"bad.yaml: not valid YAML"):
        load_section(TrainParams, "train", bad)
    bad.write_text("train: 3\n")
    with pytest.raises(UserError, match=r"section 'train' must be a mapping"):
        load_section(TrainParams, "train", bad)


def test_params_yaml_lists_every_key_of_every_stage():
    # `dvc exp run -S train.lr=...` can only override keys that params.yaml already has.
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(params) == set(STAGES)
    for stage in STAGES:
        module = importlib.import_module(f"pipeline.{stage}")
        (cls,) = [v for k, v in vars(module).items() if k.endswith("Params") and k.lower() == f"{stage}params"]
        assert set(params[stage]) == {f.name for f in dataclasses.fields(cls)}, stage
        load_section(cls, stage, ROOT / "params.yaml")  # and every value is valid
