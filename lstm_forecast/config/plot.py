"""The params of the plot stage (section `plot` of params.yaml): the figures' size and resolution."""
from __future__ import annotations

from dataclasses import dataclass

from lstm_forecast.config.params import require


@dataclass(frozen=True)
class PlotParams:
    width: float = 12.0  # inches
    height: float = 5.0
    dpi: int = 100

    def validate(self) -> None:
        require(0 < self.width <= 100, f"plot.width={self.width} should be in (0, 100] inches")
        require(0 < self.height <= 100, f"plot.height={self.height} should be in (0, 100] inches")
        require(10 <= self.dpi <= 1200, f"plot.dpi={self.dpi} should be between 10 and 1200")
