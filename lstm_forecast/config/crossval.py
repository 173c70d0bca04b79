"""The params of the crossval stage (section `crossval` of params.yaml): read by that stage, and by window,
which checks every fold's limits before any training."""
from __future__ import annotations

from dataclasses import dataclass

from lstm_forecast.config.params import require


@dataclass(frozen=True)
class CrossvalParams:
    # Expanding-window folds; the last is today's split. 0: no cross-validation (the outputs say so).
    folds: int = 3

    def validate(self) -> None:
        require(self.folds >= 0, f"crossval.folds={self.folds} should be >= 0 (0 turns cross-validation off)")
