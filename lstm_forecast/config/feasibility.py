"""Settings that the data cannot hold, found before any training: the window stage knows the splits, the
input length and the season, which is all that the later stages' limits depend on. An explicit value that
cannot hold is one line naming its key and the largest value that would; an ``auto`` value adapts.

Each check here mirrors a check a later stage makes again (the later one stays, for the library's callers):
the batch size in train, the season's and the volatility window's reach in evaluate's backtest, the
calibration forecasts of the conformal interval, the Diebold-Mariano test's origins, and the forecast
stage's steps. Cross-validation folds are checked too: each fold is a smaller series with the same rules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lstm_forecast.data.artifacts import Span
from lstm_forecast.errors import UserError
from lstm_forecast.evaluation.intervals import conformal_rank

# ``train.batch_size: auto``: this many windows a batch, capped at the training windows of a short series.
AUTO_BATCH = 32
# ``forecast.steps: auto``: this many steps, capped at the test span (each step's band is checked there).
AUTO_STEPS = 24
# ``evaluate.stride: auto``: every origin of the validation and test spans is forecast from, unless one has more
# than this many; then every k-th, the smallest k that leaves at most this many, so that a long series is
# scored in bounded time (and the forecast stage's bands calibrated).
AUTO_ORIGINS = 1000


def auto_stride(origins: dict[str, Span]) -> int:
    """The stride ``auto`` gives windows whose validation and test origins are ``origins``."""
    most = max(_count(origins["val"]), _count(origins["test"]))
    return max(1, -(-most // AUTO_ORIGINS))


def auto_batch(n_windows: int) -> int:
    """The batch size ``auto`` gives ``n_windows`` training windows."""
    return max(1, min(AUTO_BATCH, n_windows))


def auto_steps(test_length: int, val_length: int, horizon: int, strategy: str) -> int:
    """The forecast steps ``auto`` gives: AUTO_STEPS, at most the test and validation spans (the bands of step h
    are calibrated on validation forecasts whose h-th value is in validation, and checked on test), and for a
    direct model at most its horizon."""
    cap = min(test_length, val_length, horizon if strategy == "direct" else test_length)
    return max(1, min(AUTO_STEPS, cap))


@dataclass(frozen=True)
class Plan:
    """What the stages after window will run with, from the params that have limits (the rest do not matter
    here). ``season`` is resolved (no ``auto``); ``batch_size`` and ``steps`` may be ``auto``."""

    season: int
    stride: int
    interval: float
    interval_window: int
    batch_size: int | str
    strategy: str
    steps: int | str
    interval_method: str = "adaptive"
    levels: tuple[float, ...] = (0.8, 0.95)


@dataclass(frozen=True)
class Split:
    """One series as the stages see it: ``name`` (today's split, or a crossval fold), its window origins per
    split and its split bounds."""

    name: str
    origins: dict[str, Span]
    splits: dict[str, Span]
    horizon: int


def _count(span: Span, stride: int = 1) -> int:
    return max(0, -(-(span[1] - span[0]) // stride))


def _where(split: Split) -> str:
    return "" if split.name == "today" else f" ({split.name})"


def check(plan: Plan, splits: list[Split]) -> list[str]:
    """Raise a UserError for the first setting that cannot hold on one of ``splits``; return the log lines
    saying what the ``auto`` values became."""
    today = splits[0]
    check_season(today.horizon, plan.season)
    lines = [_batch(plan, splits)]
    _reach("evaluate.season", plan.season, splits, "the seasonal naive forecast reads one season back")
    if plan.interval_window:
        _reach("evaluate.interval_window", plan.interval_window + 1, splits,
               "the interval's volatility reads interval_window + 1 values back", offset=1)
    for split in splits:
        _calibration(plan, split)
        _dm(plan, split)
    lines.append(_steps(plan, today))
    return [line for line in lines if line]


def check_season(horizon: int, season: int, given: int | str | None = None) -> None:
    """The seasonal naive forecast of step h = season would be the value at the origin itself, not yet observed
    there: the season must be at least the horizon. ``given``: the season as params.yaml says it (``auto``)."""
    if horizon > season:
        said = season if given in (None, season) else f"{given} ({season})"
        raise UserError(f"window.horizon={horizon} is longer than evaluate.season={said}: the seasonal naive "
                        f"forecast would read values after its origin; use a season >= horizon, or "
                        f"window.horizon <= {season}")


def _batch(plan: Plan, splits: list[Split]) -> str:
    fewest, where = min(((_count(s.origins["train"]), s) for s in splits), key=lambda c: c[0])
    if plan.batch_size == "auto":
        if fewest >= AUTO_BATCH:
            return ""
        return (f"batch_size auto: at most {AUTO_BATCH}, capped at the training windows: "
                + ", ".join(f"{auto_batch(_count(s.origins['train']))} {s.name}" for s in splits))
    if plan.batch_size > fewest:
        raise UserError(f"train.batch_size={plan.batch_size} is larger than the {fewest} training windows"
                        f"{_where(where)}; use at most {fewest}, or auto")
    return ""


def _reach(key: str, reach: int, splits: list[Split], why: str, offset: int = 0) -> None:
    """A backtest from origin t reads ``reach`` values back, so every first scored origin must be >= reach."""
    first, where = min(((min(s.origins["val"][0], s.origins["test"][0]), s) for s in splits), key=lambda f: f[0])
    if reach > first:
        raise UserError(f"{key}={reach - offset} reaches before the start of the series: {why}, and the first "
                        f"scored origin is {first}{_where(where)}; use {key} <= {first - offset}")


def _calibration(plan: Plan, split: Split) -> None:
    """Split conformal needs ceil((n + 1) * interval) <= n calibration forecasts (validation origins)."""
    n = _count(split.origins["val"], plan.stride)
    if conformal_rank(n, plan.interval) <= n:
        return
    largest = math.floor(100 * n / (n + 1)) / 100
    needed = next(m for m in range(1, 10**7) if conformal_rank(m, plan.interval) <= m)
    advice = (f"lower evaluate.stride (now {plan.stride}) or " if plan.stride > 1 else "")
    horizon = f", a window.horizon below {split.horizon}" if split.horizon > 1 else ""
    raise UserError(f"evaluate.interval={plan.interval:g} needs at least {needed} calibration forecasts, the "
                    f"validation span{_where(split)} gives {n} (window.horizon {split.horizon}, evaluate.stride "
                    f"{plan.stride}); {advice}use evaluate.interval <= {largest:g}{horizon}, or a longer "
                    "normalize.val")


def _dm(plan: Plan, split: Split) -> None:
    """The Diebold-Mariano test needs 2 test origins, and n + 1 - 2h + h(h - 1)/n > 0 for the overlap h."""
    n = _count(split.origins["test"], plan.stride)
    h = -(-split.horizon // plan.stride)
    if n >= 2 and n + 1 - 2 * h + h * (h - 1) / n > 0:
        return
    advice = f"lower evaluate.stride (now {plan.stride}), " if plan.stride > 1 else ""
    raise UserError(f"the test span{_where(split)} gives {n} forecasts from origins {plan.stride} apart, too few for "
                    f"the Diebold-Mariano test of {split.horizon}-step forecasts; {advice}shorten window.horizon "
                    "or lengthen normalize.test")


def _steps(plan: Plan, today: Split) -> str:
    test = today.splits["test"][1] - today.splits["test"][0]
    val = today.splits["val"][1] - today.splits["val"][0]
    return forecast_steps(plan.steps, test, val, today.horizon, plan.strategy,
                          Bands(plan.interval_method, plan.levels, plan.stride))[1]


@dataclass(frozen=True)
class Bands:
    """How the forecast stage calibrates its bands: evaluate's interval method and stride, forecast's levels."""

    method: str
    levels: tuple[float, ...]
    stride: int

    def enough(self, h: int, val: int) -> bool:
        """Whether step h's bands have the validation forecasts they need: split conformal needs
        ceil((n + 1) * level) <= n of them, where n, the origins whose h-th value lies in validation, falls as
        h grows; adaptive takes the largest score where there are too few, and needs one."""
        n = _count((0, val - h + 1), self.stride)
        return n >= 1 and (self.method != "split" or conformal_rank(n, max(self.levels)) <= n)

    def refuse(self, steps: int, val: int) -> UserError:
        fits = [h for h in range(steps - 1, 0, -1) if self.enough(h, val)]
        advice = f"forecast.steps <= {fits[0]}, " if fits else ""
        n = _count((0, val - steps + 1), self.stride)
        return UserError(f"forecast.levels={list(self.levels)}: the {max(self.levels):g} band of step {steps} needs "
                         f"at least {conformal_rank(n, max(self.levels))} validation forecasts of it under "
                         f"evaluate.interval_method: split, the validation span gives {n}; use {advice}lower levels, "
                         "a longer normalize.val, or evaluate.interval_method: adaptive")


def forecast_steps(steps: int | str, test_length: int, val_length: int, horizon: int, strategy: str,
                   bands: Bands) -> tuple[int, str]:
    """The steps the forecast stage forecasts (``auto`` resolved) and the log line saying what ``auto``
    became ('' when nothing to say); a UserError for an explicit value that cannot hold."""
    if steps == "auto":
        resolved = auto_steps(test_length, val_length, horizon, strategy)
        fits = [h for h in range(resolved, 0, -1) if bands.enough(h, val_length)]
        if not fits:
            raise bands.refuse(1, val_length)
        if fits[0] == AUTO_STEPS:
            return AUTO_STEPS, ""
        cap = (f"the bands' validation forecasts ({bands.method} conformal at {max(bands.levels):g})"
               if fits[0] < resolved else f"the test span's {test_length} values" if resolved == test_length else
               f"the validation span's {val_length} values" if resolved == val_length else
               f"window.horizon {horizon}, all a direct model forecasts")
        return fits[0], f"forecast.steps auto: {fits[0]} (at most {AUTO_STEPS}, capped at {cap})"
    if strategy == "direct" and steps > horizon:
        raise UserError(f"forecast.steps={steps} is longer than window.horizon={horizon}, all a direct "
                        f"model (train.strategy: direct) forecasts; use forecast.steps <= {horizon}, or "
                        "train.strategy: recursive, which reaches any number of steps")
    for span, length, why in (("test", test_length, "checked on test forecasts"),
                              ("validation", val_length, "calibrated on validation forecasts")):
        if steps > length:
            raise UserError(f"forecast.steps={steps} is longer than the {span} span ({length} values), so the bands "
                            f"of the last steps could not be {why}; use forecast.steps <= {length}, or auto, or a "
                            f"longer normalize.{'test' if span == 'test' else 'val'}")
    if not bands.enough(steps, val_length):
        raise bands.refuse(steps, val_length)
    return steps, ""
