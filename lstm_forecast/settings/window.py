"""The params of the window stage (section `window` of params.yaml): read by that stage and by crossval."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lstm_forecast.params import require


@dataclass(frozen=True)
class WindowParams:
    time_step: int = 96
    target: Literal["sequence", "last"] = "sequence"
    horizon: int = 1

    def validate(self) -> None:
        require(self.time_step >= 1, f"window.time_step={self.time_step} should be >= 1")
        require(self.horizon >= 1, f"window.horizon={self.horizon} should be >= 1")
