"""Which way each metric is better, read from its name, and the rule ci.gate judges a change by.

The last word of the name, after any horizon suffix `_h<k>`, gives the direction:
- lower: errors and losses (rmse, mae, smape, mase, loss), the prediction interval's width, its interval score
  (msis: width plus a penalty per miss) and the pinball loss of its edges;
- higher: skill (1 - MASE / persistence's MASE);
- nominal: coverage, better the nearer it is to the interval's nominal level (evaluate.interval), or to the level
  the name carries (`band80_coverage`: 0.8, the forecast stage's bands);
- info: counts, scales, p-values and spreads (points, scale, epoch, step, folds, p, sd, spread): printed,
  never a verdict.
A mean over cross-validation folds (`..._mean`) goes the way of the metric it averages.
Any other word has no direction, and the gate stops with an error naming the metric: a new metric nobody
classified could otherwise worsen unnoticed. Add its word to WORDS.
"""
from __future__ import annotations

import math
import re

LOWER, HIGHER, NOMINAL, INFO = "lower", "higher", "nominal", "info"
EQUAL = "equal"  # --both-ways: any change beyond the tolerance fails, whatever the direction
WORDS = {
    **dict.fromkeys(("rmse", "mae", "smape", "mase", "loss", "width", "msis", "pinball"), LOWER),
    "skill": HIGHER,
    "coverage": NOMINAL,
    **dict.fromkeys(("points", "scale", "epoch", "step", "folds", "p", "sd", "spread"), INFO),
}
HORIZON = re.compile(r"_h\d+$")
BAND = re.compile(r"band(\d+(?:\.\d+)?)_coverage")
DEFAULT_INTERVAL = 0.9  # evaluate.interval's default, for a revision whose params.yaml has none


def direction(name: str) -> str:
    """LOWER, HIGHER, NOMINAL or INFO for the metric ``name``; KeyError for a name with no known direction."""
    word = HORIZON.sub("", name.removesuffix("_mean")).rsplit("_", 1)[-1]
    if word not in WORDS:
        raise KeyError(
            f"metric {name!r} has no known direction (its last word {word!r} is none of "
            f"{', '.join(sorted(WORDS))}): add it to ci/direction.py"
        )
    return WORDS[word]


def nominal_for(name: str, nominal: tuple[float, float]) -> tuple[float, float]:
    """The nominal levels ``name`` is judged against: its own for a forecast band's coverage, else ``nominal``."""
    band = BAND.search(name)
    return nominal if band is None else (float(band[1]) / 100,) * 2


def worsening(rule: str, old: float, new: float, nominal: tuple[float, float]) -> float:
    """How much worse ``new`` is than ``old`` under ``rule`` (negative when better); ``nominal`` holds the
    nominal coverage at the base and in the workspace."""
    if rule == LOWER:
        return new - old
    if rule == HIGHER:
        return old - new
    if rule == NOMINAL:
        return abs(new - nominal[1]) - abs(old - nominal[0])
    if rule == EQUAL:
        return abs(new - old)
    raise ValueError(f"rule={rule!r} should be one of {LOWER}, {HIGHER}, {NOMINAL}, {EQUAL}")


def judge(rule: str, old: float | None, new: float | None, tolerance: float,
          nominal: tuple[float, float] = (DEFAULT_INTERVAL, DEFAULT_INTERVAL)) -> bool | None:
    """True when ``new`` is at most ``tolerance`` x |old| worse than ``old``; None for INFO (no verdict)."""
    if rule == INFO:
        return None
    if old is None or new is None:
        return False  # a metric that appeared or vanished is a change the gate cannot vouch for
    if not (math.isfinite(old) and math.isfinite(new)):
        return old == new
    return worsening(rule, old, new, nominal) <= tolerance * abs(old)


def describe(rule: str, nominal: tuple[float, float]) -> str:
    """The table's words for ``rule``."""
    if rule == NOMINAL:
        base, work = nominal
        return f"nearest {work:g}" + ("" if base == work else f" (base {base:g})")
    return {LOWER: "lower", HIGHER: "higher", INFO: "info", EQUAL: "either way"}[rule]
