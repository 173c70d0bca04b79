"""The accuracy benchmark's summaries of per-series results (pure: dicts in, numbers and lines out): every
model's MASE, the best baseline, the LSTM's MASE ratios, wins and significant losses, coverage."""
from __future__ import annotations

import math

from lstm_forecast.evaluation.scoring import ALPHA
from lstm_forecast.config.evaluate import BASELINES
from lstm_forecast.evaluation.statistical import STATISTICAL

MODELS = ("lstm", *BASELINES)
# Column headings short enough for 8 characters.
SHORT = {"persistence": "persist", "seasonal_naive": "snaive", "auto_ets": "ets", "auto_arima": "arima",
         "auto_theta": "theta"}
# The simple baselines a forecaster would try before the statistical models (persistence apart).
SIMPLE = ("seasonal_naive", "linear")


def mase(results: dict, split: str, model: str) -> float | None:
    """``model``'s MASE on ``split``, None where it did not run."""
    return results.get(f"{split}_{model}_mase")


def best_of(results: dict, split: str, models) -> str | None:
    """The model of ``models`` with the lowest MASE on ``split`` (of those that ran); None if none ran."""
    ran = [m for m in models if mase(results, split, m) is not None]
    return min(ran, key=lambda m: mase(results, split, m)) if ran else None


def best_baseline(results: dict, split: str) -> str | None:
    return best_of(results, split, [m for m in MODELS if m != "lstm"])


def lstm_ratio(results: dict, split: str, models) -> float | None:
    """LSTM MASE / the MASE of the best of ``models``; None where none ran or that MASE is 0."""
    best = best_of(results, split, models)
    if best is None or mase(results, split, best) == 0:
        return None
    return mase(results, split, "lstm") / mase(results, split, best)


def lstm_wins(results: dict, split: str) -> bool:
    """The LSTM has the lowest MASE of all models (a tie is no win)."""
    best = best_baseline(results, split)
    return best is None or mase(results, split, "lstm") < mase(results, split, best)


def significantly_worse(results: dict, model: str | None) -> bool | None:
    """The LSTM's test MASE is higher than ``model``'s and the Diebold-Mariano p-value below ALPHA; None
    without a test (validation scores, or no model)."""
    p = results.get(f"test_lstm_vs_{model}_dm_p")
    if model is None or p is None:
        return None
    return p < ALPHA and mase(results, "test", "lstm") > mase(results, "test", model)


def geometric_mean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarise(by_series: dict[str, dict], split: str) -> dict:
    """Over the series' results dicts (those that ran): geometric means of the LSTM's MASE ratios, wins,
    significant losses (test only: None on val) and coverage (test only)."""
    out: dict = {"series": len(by_series)}
    for name, models in (("persistence", ("persistence",)), ("statistical", STATISTICAL), ("simple", SIMPLE)):
        ratios = [r for res in by_series.values() if (r := lstm_ratio(res, split, models)) is not None]
        out[f"vs_{name}"], out[f"vs_{name}_n"] = geometric_mean(ratios), len(ratios)
    out["wins"] = sum(lstm_wins(res, split) for res in by_series.values())
    for name, pick in (("persistence", lambda res: "persistence"), ("best", lambda res: best_baseline(res, split))):
        out[f"worse_than_{name}"] = (sum(bool(significantly_worse(res, pick(res))) for res in by_series.values())
                                     if split == "test" else None)
    coverage = [res["test_lstm_coverage"] for res in by_series.values() if split == "test"]
    out["coverage_mean"] = sum(coverage) / len(coverage) if coverage else None
    out["coverage_min"] = min(coverage) if coverage else None
    return out


def shown(value, fmt: str = ".3f") -> str:
    """A figure as printed; '-' where there is none."""
    return "-" if value is None else format(value, fmt)


def summary_lines(s: dict, left_out: int, interval: float) -> list[str]:
    """The summary as printed, one line per figure."""
    n = s["series"]
    if s["worse_than_best"] is None:
        worse = "- (a test of test scores only)"
    else:
        worse = (f"than persistence {s['worse_than_persistence']} of {n}, "
                 f"than the best baseline {s['worse_than_best']} of {n}")
    return [
        f"LSTM MASE / persistence MASE, geometric mean: {shown(s['vs_persistence'])} "
        f"({s['vs_persistence_n']} series)",
        f"LSTM MASE / best statistical ({', '.join(STATISTICAL)}), geometric mean: "
        f"{shown(s['vs_statistical'])} ({s['vs_statistical_n']} series)",
        f"LSTM MASE / best of {' and '.join(SIMPLE)}, geometric mean: {shown(s['vs_simple'])} "
        f"({s['vs_simple_n']} series)",
        f"LSTM wins (lowest MASE of all models): {s['wins']} of {n}",
        f"LSTM significantly worse (DM p < {ALPHA}, higher MASE): {worse}",
        f"LSTM {100 * interval:g}% interval coverage: mean {shown(s['coverage_mean'])}, "
        f"min {shown(s['coverage_min'])}",
        f"left out of the summary: {left_out} series (errors above)",
    ]


def table(runs: dict[str, dict], split: str) -> list[str]:
    """One row per series: every model's MASE on ``split``, the best baseline, the LSTM's DM p-value against
    it and its coverage (test only: '-' on val), seconds; or the one-line reason the series failed."""
    lines = [f"{split + ' MASE':<13}" + "".join(f"{SHORT.get(m, m):>8}" for m in MODELS)
             + f"  {'best':<14}{'DM p':>7}{'cov':>7}{'s':>7}"]
    for name, run in runs.items():
        if "results" not in run:
            lines.append(f"{name:<13} error: {run['error']}")
            continue
        res = run["results"]
        best = best_baseline(res, split)
        p = res.get(f"test_lstm_vs_{best}_dm_p") if split == "test" else None
        coverage = res.get("test_lstm_coverage") if split == "test" else None
        lines.append(f"{name:<13}" + "".join(f"{shown(mase(res, split, m)):>8}" for m in MODELS)
                     + f"  {best or '-':<14}{shown(p):>7}{shown(coverage):>7}{run['seconds']:>7.1f}")
    return lines
