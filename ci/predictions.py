"""The gate's noise-aware rule: the LSTM's one-step test errors at a base revision and in the workspace, on
their common origins, compared with the Diebold-Mariano test (lstm_forecast/evaluation/significance.py).

A change of seed moves the test RMSE by a few percent on the shipped series; only a difference that the test
calls significant says the workspace's forecasts are really worse. Each error metric is judged through a
per-origin loss: squared errors for RMSE, absolute errors for MAE, MASE and skill (MASE over a scale and a
persistence score that a change of model leaves alone), sMAPE's own terms for sMAPE.
"""
from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ci.shell import git_show_bytes
from lstm_forecast.evaluation.significance import diebold_mariano

PREDICTIONS = "metrics/predictions.csv"  # evaluate's --predictions in dvc.yaml
SPLIT = "test"
COLUMNS = ("origin", "split", "actual", "predicted")
# Metrics that the test judges, and the loss each is judged by. Names as in metrics/evaluate.json.
JUDGED_BY = {"rmse": "rmse", "mae": "mae", "mase": "mae", "skill": "mae", "smape": "smape"}
LSTM_ERROR = re.compile(r"test_lstm_(rmse|mae|mase|skill|smape)(_h1)?")


class NotComparable(Exception):
    """The predictions at the two revisions cannot be compared; the message says why, in one line."""


def smape_terms(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Each origin's term of sMAPE in percent; 0 where actual and prediction are both 0, as in evaluate."""
    denom = np.abs(actual) + np.abs(predicted)
    return 200.0 * np.divide(np.abs(actual - predicted), denom, out=np.zeros_like(denom), where=denom > 0)


# loss name -> (per-origin loss (n,), the metric made from the losses' mean)
LOSSES: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[float], float]]] = {
    "rmse": (lambda a, p: (a - p) ** 2, math.sqrt),
    "mae": (lambda a, p: np.abs(a - p), float),
    "smape": (smape_terms, float),
}


@dataclass(frozen=True)
class Comparison:
    """One loss compared on the common origins: the metric at base and in the workspace, the DM p-value
    (None where a loss is not finite), and whether the workspace's mean loss is the higher."""

    loss: str
    base: float
    workspace: float
    p: float | None
    worse: bool
    origins: int

    def passes(self, alpha: float) -> bool:
        """False only when the workspace is worse and significantly so (or its losses are not finite)."""
        return not (self.worse and (self.p is None or self.p < alpha))


def judging_loss(name: str, names: Collection[str]) -> str | None:
    """The loss that judges metric ``name``, or None: only the LSTM's one-step test errors are covered. With
    H > 1 steps (``test_lstm_rmse_h2`` among ``names``) the unsuffixed metrics are means over the steps and
    keep the tolerance rule; their ``_h1`` metrics are one-step and covered."""
    found = LSTM_ERROR.fullmatch(name)
    if found is None or (found[2] is None and "test_lstm_rmse_h2" in names):
        return None
    return JUDGED_BY[found[1]]


def read_test_rows(text: str, where: str) -> pd.DataFrame:
    """``actual`` and ``predicted`` of the test rows of a predictions CSV, indexed by origin."""
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise NotComparable(f"{PREDICTIONS} at {where} is not a CSV table: {err}") from None
    missing = [c for c in COLUMNS if c not in frame]
    if missing:
        raise NotComparable(f"{PREDICTIONS} at {where} has no column {', '.join(missing)}")
    return frame.loc[frame["split"] == SPLIT, ["origin", "actual", "predicted"]].set_index("origin")


def compare(base: pd.DataFrame, work: pd.DataFrame) -> list[Comparison]:
    """Every loss in LOSSES compared on the origins both frames hold; NotComparable when fewer than 2, or
    when the actual values there differ (another series, or other units)."""
    joined = base.merge(work, left_index=True, right_index=True, suffixes=("_base", "")).sort_index()
    if len(joined) < 2:
        raise NotComparable(f"{len(joined)} test origin(s) in common, the test needs 2")
    actual, base_actual = joined["actual"].to_numpy(), joined["actual_base"].to_numpy()
    # The CSV holds 6 decimals: the same series read in another way may differ in the last one.
    differ = ~np.isclose(actual, base_actual, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(base_actual).max())))
    if differ.any():
        raise NotComparable(f"the actual values differ at {differ.sum()} of the {len(joined)} common test origins "
                            "(another series or split?)")
    results = []
    for name, (loss, metric) in LOSSES.items():
        old, new = loss(actual, joined["predicted_base"].to_numpy()), loss(actual, joined["predicted"].to_numpy())
        if np.isfinite(old).all() and np.isfinite(new).all():
            dm = diebold_mariano(new, old, h=1)  # one-step forecasts: their errors do not overlap
            p, worse = dm.p_value, dm.mean_difference > 0
        else:
            p, worse = None, not np.isfinite(new).all()
        results.append(Comparison(name, metric(float(old.mean())), metric(float(new.mean())), p, worse, len(joined)))
    return results


def compare_revisions(base: str, path: str = PREDICTIONS) -> list[Comparison]:
    """compare() of the test predictions committed at ``base`` with those in the workspace."""
    old = git_show_bytes(base, path)
    if old is None:
        raise NotComparable(f"no {path} at {base}")
    if not Path(path).is_file():
        raise NotComparable(f"no {path} in the workspace")
    return compare(read_test_rows(old.decode(), base), read_test_rows(Path(path).read_text(), "the workspace"))
