"""The params of the evaluate stage (section `evaluate` of params.yaml): read by that stage and by crossval."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

Baseline = Literal["persistence", "seasonal_naive", "linear", "auto_ets", "auto_arima", "auto_theta"]
BASELINES: tuple[Baseline, ...] = ("persistence", "seasonal_naive", "linear", "auto_ets", "auto_arima", "auto_theta")

from lstm_forecast.prep.features import season_for
from lstm_forecast.config.params import require
from lstm_forecast.config.feasibility import AUTO_ORIGINS, auto_stride


@dataclass(frozen=True)
class EvaluateParams:
    # The seasonal lag in steps, or auto: from the series' frequency (lstm_forecast.prep.features.season_for).
    # Typed str rather than Literal["auto"] so that a wrong word gets validate()'s message, which names both.
    season: int | str = "auto"
    # Forecast from every stride-th origin; auto: 1, or more where a span has over AUTO_ORIGINS origins.
    stride: int | Literal["auto"] = "auto"
    interval: float = 0.9
    # Residuals are divided by the recent volatility (mean |one-step change| over this many steps before the
    # origin), so the interval widens in turbulent stretches; 0 gives plain split conformal.
    interval_window: int = 12
    # split: calibrated once on validation | adaptive: recalibrated at each test origin on the test errors
    # observed before it (adaptive conformal inference), so coverage recovers when the test span drifts.
    interval_method: Literal["split", "adaptive"] = "adaptive"
    # Adaptive conformal's step size for its miscoverage level alpha; docs/metrics.md says why 0.02.
    interval_gamma: float = 0.02
    ridge_alpha: float = 1.0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # The models scored beside the LSTM; persistence is the reference of skill and always runs.
    baselines: tuple[Baseline, ...] = BASELINES

    def validate(self) -> None:
        require(self.season == "auto" or (isinstance(self.season, int) and self.season >= 1),
                f"evaluate.season={self.season!r} should be a whole number of steps >= 1 (the seasonal lag) or auto "
                "(from the series' frequency)")
        require(self.stride == "auto" or self.stride >= 1,
                f"evaluate.stride={self.stride!r} should be >= 1 or auto (1, or more on a long series)")
        require(0 < self.interval < 1, f"evaluate.interval={self.interval} should be a coverage between 0 and 1")
        require(self.interval_window >= 0, f"evaluate.interval_window={self.interval_window} should be >= 0")
        require(0 <= self.interval_gamma < 1,
                f"evaluate.interval_gamma={self.interval_gamma} should be a step size >= 0 and < 1 (e.g. 0.02)")
        require(self.ridge_alpha >= 0, f"evaluate.ridge_alpha={self.ridge_alpha} should be >= 0")
        require("persistence" in self.baselines and len(set(self.baselines)) == len(self.baselines),
                f"evaluate.baselines={list(self.baselines)} should list each model once, persistence included "
                f"(the reference of skill); choose from: {', '.join(BASELINES)}")

    def resolve_season(self, freq: str | None) -> tuple[EvaluateParams, str | None]:
        """These params with ``season: auto`` replaced by the season of the series' frequency ``freq`` (ingest's
        series.json), and the line for the stage's log saying what it chose and why (None for a given season)."""
        if self.season != "auto":
            return self, None
        season, why = season_for(freq)
        if season > 1:
            line = f"season auto: {season} for frequency {freq} ({why})"
        else:
            line = (f"season auto: 1 (no season) for frequency {freq}: {why}; set evaluate.season to the period in "
                    "steps if there is one")
        return dataclasses.replace(self, season=season), line

    def resolve_stride(self, origins: dict[str, tuple[int, int]]) -> tuple[EvaluateParams, str | None]:
        """These params with ``stride: auto`` resolved for windows whose origins per split are ``origins``
        (window's windows.json), and the log line when it is not 1."""
        if self.stride != "auto":
            return self, None
        stride = auto_stride(origins)
        line = None if stride == 1 else (f"stride auto: {stride} (every {stride}th origin: the validation and "
                                         f"test spans have over {AUTO_ORIGINS} origins each)")
        return dataclasses.replace(self, stride=stride), line
