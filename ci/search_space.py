"""The search space `make tune` explores, read from tune.yaml and checked against params.yaml.

Each key is a params.yaml key (section.key) with a typed spec:

    train.lr: {type: float, low: 0.001, high: 0.03, log: true}     # or step: 0.001 (not with log)
    train.hidden_size: {type: int, low: 4, high: 16, step: 4}      # step defaults to 1; log: true without step
    normalize.difference: {type: categorical, choices: [false, true]}

No optuna import here: a Dimension asks any object with Optuna's trial.suggest_* methods.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FLOAT, INT, CATEGORICAL = "float", "int", "categorical"
FIELDS = {FLOAT: ("low", "high", "log", "step"), INT: ("low", "high", "log", "step"), CATEGORICAL: ("choices",)}
# Keys a trial may not change: they change the series or the spans the objective is measured on, so two trials
# would score different data and their values could not be compared.
FIXED_SECTIONS = ("ingest",)
FIXED_KEYS = ("normalize.train", "normalize.val", "normalize.test", "crossval.folds")
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Dimension:
    """One params.yaml key and the values a trial may give it."""

    key: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial: Any) -> Any:
        """The value ``trial`` (an optuna.Trial) proposes for this key."""
        if self.kind == FLOAT:
            return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)
        if self.kind == INT:
            return trial.suggest_int(self.key, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_categorical(self.key, list(self.choices))


def load_space(path: Path, params_path: Path = Path("params.yaml")) -> list[Dimension]:
    """tune.yaml's dimensions, in file order; ValueError naming the file and the key for any mistake."""
    if not path.is_file():
        raise ValueError(f"{path}: search space file not found")
    try:
        space = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(space, dict) or not space:
        raise ValueError(f"{path}: expected a mapping of section.key to a spec, e.g. "
                         "train.lr: {type: float, low: 0.001, high: 0.03, log: true}")
    params = yaml.safe_load(params_path.read_text()) or {}
    return [parse_dimension(str(key), spec, params, f"{path}: '{key}'") for key, spec in space.items()]


def check_key(key: str, params: dict, where: str) -> Any:
    """The value ``key`` has in ``params``; ValueError if params.yaml has no such key or it may not be tuned."""
    section, dot, name = key.partition(".")
    if not dot or not section or not name or "." in name:
        raise ValueError(f"{where} is not a section.key of params.yaml (e.g. train.lr)")
    values = params.get(section)
    if not isinstance(values, dict) or name not in values:
        keys = [f"{s}.{k}" for s, v in params.items() if isinstance(v, dict) for k in v]
        close = difflib.get_close_matches(key, keys, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else " (section.key, e.g. train.lr)"
        raise ValueError(f"{where} is not a key of params.yaml{hint}")
    if section in FIXED_SECTIONS or key in FIXED_KEYS:
        raise ValueError(f"{where} cannot be tuned: it changes the data or the spans the objective is measured on, "
                         f"so trials would not be comparable (fixed: {', '.join(FIXED_SECTIONS)}.*, "
                         f"{', '.join(FIXED_KEYS)})")
    return values[name]


def parse_dimension(key: str, spec: Any, params: dict, where: str) -> Dimension:
    current = check_key(key, params, where)
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind not in FIELDS:
        raise ValueError(f"{where} should be a mapping with type: {' | '.join(FIELDS)} "
                         f"(e.g. {{type: float, low: 0.001, high: 0.03, log: true}}), got {spec!r}")
    unknown = sorted(set(spec) - {"type", *FIELDS[kind]}, key=str)
    if unknown:
        raise ValueError(f"{where}: unknown field '{unknown[0]}' for type {kind} (valid: {', '.join(FIELDS[kind])})")
    if kind == CATEGORICAL:
        return categorical(key, spec, where)
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise ValueError(f"{where}: type {kind} needs a number, but params.yaml has {current!r}; "
                         "use type: categorical")
    if kind == FLOAT and isinstance(current, int):
        raise ValueError(f"{where}: params.yaml has the whole number {current!r}, which a float range would not "
                         f"keep whole; use type: int (or write {float(current)!r} in params.yaml)")
    return numeric(key, kind, spec, where)


def categorical(key: str, spec: dict, where: str) -> Dimension:
    choices = spec.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError(f"{where}: choices should be a non-empty list of values, got {choices!r}")
    if any(isinstance(c, (dict, list)) for c in choices):
        raise ValueError(f"{where}: choices should be single values (number, string, true/false, null), "
                         f"got {choices!r}")
    if len({repr(c) for c in choices}) < len(choices):
        raise ValueError(f"{where}: choices {choices!r} repeat a value")
    return Dimension(key, CATEGORICAL, choices=tuple(choices))


def numeric(key: str, kind: str, spec: dict, where: str) -> Dimension:
    bounds = {}
    for field in ("low", "high"):
        if field not in spec:
            raise ValueError(f"{where}: type {kind} needs low and high (valid fields: {', '.join(FIELDS[kind])})")
        bounds[field] = number(spec[field], kind, f"{where}: {field}")
    low, high = bounds["low"], bounds["high"]
    step = None if spec.get("step") is None else number(spec["step"], kind, f"{where}: step")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ValueError(f"{where}: log={log!r} should be true or false")
    if not (low < high if kind == FLOAT else low <= high):
        raise ValueError(f"{where}: low={low!r} should be {'below' if kind == FLOAT else 'at most'} high={high!r}")
    if step is not None and step <= 0:
        raise ValueError(f"{where}: step={step!r} should be > 0")
    if log and low <= 0:
        raise ValueError(f"{where}: log: true needs low > 0, got low={low!r}")
    if log and step is not None and not (kind == INT and step == 1):
        raise ValueError(f"{where}: log: true samples on a log scale and takes no step (got step={step!r})")
    return Dimension(key, kind, low=low, high=high, step=step, log=log)


def number(value: Any, kind: str, where: str) -> float | int:
    """``value`` as the ``kind``'s number; YAML 1.1 reads 1e-3 (no dot) as a string, so that is accepted."""
    if kind == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}={value!r} should be a whole number")
        return value
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}={value!r} should be a finite number")
    return float(value)


def override(key: str, value: Any) -> str:
    """``key=value`` in the override syntax of `dvc exp run -S` (Hydra's): strings quoted unless plain words,
    so that a choice "true" or "1" stays a string."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif PLAIN.fullmatch(value) and value.lower() not in ("true", "false", "null", "nan", "inf"):
        text = value
    else:
        text = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return f"{key}={text}"
