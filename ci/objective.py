"""What a `make tune` trial is scored by: a validation score or a cross-validation mean, never a test_ metric.

The tuner sees an experiment's metrics only through ``allowed_metrics``, which scans the names of
metrics/evaluate.json and metrics/crossval.json and reads the values of the val_ and crossval_..._mean ones
alone. A test_ score only reports: choosing on it, trial after trial, tunes the model to the test span. The
per-fold scores (fold<k>_) stay out too: each is a fold's test span, and the last fold's is today's.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ci.compare import CROSSVAL, EVALUATE, declared_metrics
from ci.direction import HIGHER, LOWER, direction

ALLOWED = {EVALUATE: re.compile(r"val_\w+"), CROSSVAL: re.compile(r"crossval_\w+_mean")}


def allowed_metrics(files: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The validation and cross-validation-mean metrics of ``files`` (metrics file -> name -> value). Only the
    names are scanned: the value of any other metric, a test_ one above all, is never read."""
    found = {}
    for path, pattern in ALLOWED.items():
        metrics = files.get(path) or {}
        for name in metrics:
            if pattern.fullmatch(name):
                found[name] = metrics[name]
    return found


def check_objective(name: str) -> str:
    """"minimize" or "maximize" for the metric ``name``; ValueError for a metric that may not be the objective."""
    if name.startswith("test_"):
        raise ValueError(f"--objective {name}: a test_ metric only reports and is never tuned on (choosing on it "
                         "overfits the test span); use crossval_lstm_val_mase_mean or val_lstm_mase")
    if not any(pattern.fullmatch(name) for pattern in ALLOWED.values()):
        raise ValueError(f"--objective {name}: should be a val_ metric of {EVALUATE} (e.g. val_lstm_mase) or a "
                         f"crossval_..._mean of {CROSSVAL} (e.g. crossval_lstm_mase_mean)")
    try:
        rule = direction(name)
    except KeyError as err:
        raise ValueError(f"--objective {name}: {err.args[0]}") from None
    if rule not in (LOWER, HIGHER):
        raise ValueError(f"--objective {name}: is {rule}, neither lower nor higher is better; use an error "
                         "(rmse, mae, smape, mase) or skill")
    return "minimize" if rule == LOWER else "maximize"


def default_objective(params_path: Path = Path("params.yaml"), dvc_yaml: Path = Path("dvc.yaml")) -> str:
    """The LSTM's validation MASE averaged over the cross-validation folds when crossval runs (crossval.folds > 0),
    else its validation MASE: neither reads a test span (crossval_lstm_mase_mean would: its last fold is today's
    test span)."""
    params = yaml.safe_load(params_path.read_text()) or {}
    folds = (params.get("crossval") or {}).get("folds", 0)
    ran = CROSSVAL in declared_metrics(dvc_yaml) and isinstance(folds, int) and folds > 0
    return "crossval_lstm_val_mase_mean" if ran else "val_lstm_mase"


def objective_value(metrics: Mapping[str, float], name: str, experiment: str) -> float:
    """The objective ``name`` among an experiment's allowed ``metrics``; ValueError naming what it has if absent."""
    if name not in metrics:
        raise ValueError(f"{experiment}: its metrics have no '{name}' (it has: {', '.join(sorted(metrics))})")
    return float(metrics[name])
