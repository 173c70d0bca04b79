"""The params of the train stage (section `train` of params.yaml): read by that stage and by crossval."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from lstm_forecast.config.feasibility import AUTO_BATCH, auto_batch
from lstm_forecast.config.params import require
from lstm_forecast.model.training import FitSettings


@dataclass(frozen=True)
class TrainParams(FitSettings):
    """The training loop's settings (FitSettings: the model's shape and the optimisation) and where it runs."""

    # auto: AUTO_BATCH windows, capped at the training windows of a short series (lstm_forecast.config.feasibility).
    batch_size: int | Literal["auto"] = "auto"
    threads: int = 1
    device: Literal["auto", "cpu", "cuda"] = "auto"

    def validate(self) -> None:
        require(self.hidden_size >= 1, f"train.hidden_size={self.hidden_size} should be >= 1")
        require(self.num_layers >= 1, f"train.num_layers={self.num_layers} should be >= 1")
        require(0 <= self.dropout < 1, f"train.dropout={self.dropout} should be in [0, 1)")
        require(self.lr > 0 and math.isfinite(self.lr), f"train.lr={self.lr} should be a positive number")
        require(self.batch_size == "auto" or self.batch_size >= 1,
                f"train.batch_size={self.batch_size!r} should be >= 1 or auto ({AUTO_BATCH}, capped at the training "
                "windows)")
        require(self.epochs >= 1, f"train.epochs={self.epochs} should be >= 1")
        require(self.patience >= 0, f"train.patience={self.patience} should be >= 0 (0 turns early stopping off)")
        require(self.threads >= 1, f"train.threads={self.threads} should be >= 1")
        require(self.ensemble >= 1, f"train.ensemble={self.ensemble} should be >= 1 (1: a single model)")
        require(self.steps_per_epoch >= 0, f"train.steps_per_epoch={self.steps_per_epoch} should be >= 0 (0: all)")

    def for_windows(self, n_windows: int) -> TrainParams:
        """These params with ``batch_size: auto`` resolved for ``n_windows`` training windows."""
        if self.batch_size != "auto":
            return self
        return dataclasses.replace(self, batch_size=auto_batch(n_windows))
