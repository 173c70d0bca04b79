"""The params of the forecast stage (section `forecast` of params.yaml): read by that stage, and by window,
which checks the steps against the test span before any training."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lstm_forecast.config.feasibility import AUTO_STEPS
from lstm_forecast.config.params import require


@dataclass(frozen=True)
class ForecastParams:
    # auto: AUTO_STEPS, capped at the test span (every step's band is checked on test forecasts).
    steps: int | Literal["auto"] = "auto"
    # all: retrain on the whole series for the epochs validation chose, scaler refitted on it | none: the
    # evaluated model as it is.
    refit: Literal["all", "none"] = "all"
    levels: tuple[float, ...] = (0.8, 0.95)

    def validate(self) -> None:
        require(self.steps == "auto" or self.steps >= 1,
                f"forecast.steps={self.steps!r} should be >= 1 or auto ({AUTO_STEPS}, capped at the test span)")
        require(len(self.levels) >= 1 and all(0 < lv < 1 for lv in self.levels)
                and len(set(self.levels)) == len(self.levels),
                f"forecast.levels={list(self.levels)} should list distinct coverages between 0 and 1, "
                "such as [0.8, 0.95]")
