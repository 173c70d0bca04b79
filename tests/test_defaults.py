"""One set of defaults: the params dataclasses default to params.yaml's values (the panel's choice), so that a
line deleted from params.yaml, or ``TrainParams()`` in a notebook, does not bring the tutorial back; the
tutorial's configuration is the named preset ``REFERENCE``, the one README's `dvc exp run -n reference` runs."""
import dataclasses
import importlib
import shlex

import pytest
import yaml

from lstm_forecast.config.feasibility import AUTO_BATCH
from lstm_forecast.config.params import parse_section
from lstm_forecast.config.presets import REFERENCE, reference_overrides
from lstm_forecast.config.train import TrainParams
from lstm_forecast.model.training import FitSettings
from tests.helpers import ROOT, STAGES

PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())

# The keys whose params.yaml value is about the shipped file rather than a choice for any series: its path,
# sheet and column (no path: the ingest stage requires one, a DataFrame needs none; no sheet and no column mean
# the first sheet and the single numeric column), and the seasonal lag of the ~11-year solar cycle (the default, auto, reads it from the
# frequency: 12 for monthly data). The rest of ingest (time_column, start, stop, missing, sort, freq, sep,
# decimal, header_row) is how to read any table, and the shipped sheet is read by the general rules, so those
# are defaults like any other.
DATA_SPECIFIC = {"ingest": ("path", "sheet", "column"), "evaluate": ("season",)}


def params_class(section: str) -> type:
    """The section's dataclass, from lstm_forecast/config/<section>.py."""
    module = importlib.import_module(f"lstm_forecast.config.{section}")
    (cls,) = [v for k, v in vars(module).items() if k.lower() == f"{section}params"]
    return cls


@pytest.mark.parametrize("section", STAGES)
def test_params_yaml_holds_the_dataclass_defaults(section):
    cls, raw = params_class(section), PARAMS[section]
    # Every field is written out in params.yaml (a new key cannot go undocumented, and `dvc exp run -S` can
    # only set keys that are there), and nothing else is.
    assert set(raw) == {f.name for f in dataclasses.fields(cls)}
    kept = DATA_SPECIFIC.get(section, ())
    chosen = parse_section(cls, section, raw)
    # Through the same loader as the stages: only the data-specific keys given, every other key its default.
    defaults = parse_section(cls, section, {key: raw[key] for key in kept})
    differ = {key: (getattr(chosen, key), getattr(defaults, key)) for key in raw
              if key not in kept and getattr(chosen, key) != getattr(defaults, key)}
    assert differ == {}, f"{section}: params.yaml's value != the dataclass default"


def test_the_data_specific_keys_are_keys():
    for section, keys in DATA_SPECIFIC.items():
        assert set(keys) <= set(PARAMS[section])


def test_fit_settings_default_to_the_train_section():
    # TrainParams adds batch_size: auto, threads and device to the training loop's own settings; the loop needs a
    # number of windows per batch, so FitSettings' default is what auto gives a series of any length but short.
    fit, train = FitSettings(), TrainParams()
    assert fit.batch_size == AUTO_BATCH and train.batch_size == "auto"
    shared = [f.name for f in dataclasses.fields(FitSettings) if f.name != "batch_size"]
    assert {name: getattr(fit, name) for name in shared} == {name: getattr(train, name) for name in shared}
    assert train == parse_section(TrainParams, "train", PARAMS["train"])


def documented_reference(path) -> list[str]:
    """The ``-S`` values of the `dvc exp run -n reference ...` command in the file at ``path``."""
    text = path.read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if "dvc exp run -n reference" in line]
    words = shlex.split(line.strip())
    assert words[:5] == ["dvc", "exp", "run", "-n", "reference"]
    assert words[5::2] == ["-S"] * len(words[5::2]), line
    return words[6::2]


@pytest.mark.parametrize("doc", ["README.md", "docs/panel.md"])
def test_the_documented_reference_is_the_preset(doc):
    overrides = documented_reference(ROOT / doc)
    assert overrides == reference_overrides()
    documented: dict[str, dict[str, object]] = {}
    for override in overrides:
        key, value = override.split("=", 1)
        section, name = key.split(".")
        documented.setdefault(section, {})[name] = yaml.safe_load(value)  # as `dvc exp run -S` reads it
    assert documented == REFERENCE


def test_the_reference_is_valid_and_changes_every_key_it_names():
    for section, values in REFERENCE.items():
        cls = params_class(section)
        chosen = parse_section(cls, section, PARAMS[section])
        reference = parse_section(cls, section, PARAMS[section] | values)
        assert all(getattr(reference, key) != getattr(chosen, key) for key in values), section
