"""Load one section of params.yaml into a frozen dataclass, rejecting unknown keys and wrong types."""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from lstm_forecast.errors import UserError

T = TypeVar("T")

# A plain number as YAML, Python and CSV readers write it (a dot is the decimal point); ingest's cell
# parsing uses it too.
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def read_params_file(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: params file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise UserError(f"{p}: not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected a mapping of sections at the top level, got {type(data).__name__}")
    return data


def load_section(cls: type[T], section: str, path: str | os.PathLike = "params.yaml") -> T:
    """Read ``section`` of the params file at ``path`` into ``cls`` (a dataclass)."""
    data = read_params_file(path)
    raw = data.get(section)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UserError(f"{path}: section '{section}' must be a mapping of keys, got {raw!r}")
    return parse_section(cls, section, raw)


def load_keys(cls: type[T], section: str, keys: tuple[str, ...], path: str | os.PathLike = "params.yaml") -> T:
    """Only ``keys`` of ``section`` (the others take their defaults): for a stage that reads a few keys of
    another stage's section, each declared in dvc.yaml, so that the others do not rerun it."""
    raw = read_params_file(path).get(section) or {}
    return parse_section(cls, section, {k: raw[k] for k in keys if k in raw} if isinstance(raw, dict) else {})


def parse_section(cls: type[T], section: str, raw: dict[str, Any]) -> T:
    """Check ``raw`` against the fields of ``cls`` and build it; errors name ``section.key``."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{section}.{close[0]}'?" if close else ""
            raise UserError(f"unknown param '{section}.{key}'{hint} (valid keys: {', '.join(fields)})")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in raw:
            values[name] = _coerce(f"{section}.{name}", raw[name], hints[name])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise UserError(f"missing param '{section}.{name}'")
    obj = cls(**values)
    check = getattr(obj, "validate", None)
    if check is not None:
        check()
    return obj


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(key, value, option)
            except UserError as err:
                errors.append(err)
        raise errors[0]
    if origin is tuple:  # tuple[X, ...]: a YAML list of X
        (item, _) = typing.get_args(hint)
        if not isinstance(value, list):
            raise UserError(f"{key}={value!r} should be a list")
        return tuple(_coerce(key, v, item) for v in value)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise UserError(f"{key}={value!r} is not valid; choose one of: {', '.join(map(str, choices))}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise UserError(f"{key}={value!r} should be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{key}={value!r} should be a whole number")
        return value
    if hint is float:
        # YAML 1.1 reads "1e-3" (no dot) as a string; accept it, since users and `dvc exp run -S` write it.
        if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{key}={value!r} should be a number")
        return float(value)
    if hint is str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a sheet or column named 2024 reads from YAML as a number
        if not isinstance(value, str):
            raise UserError(f"{key}={value!r} should be a string")
        return value
    raise TypeError(f"unsupported param type {hint!r} for {key}")  # a bug in a params dataclass


def require(condition: bool, message: str) -> None:
    """Raise a UserError with ``message`` unless ``condition`` holds (for params' validate())."""
    if not condition:
        raise UserError(message)
