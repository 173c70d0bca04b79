"""What training returns (lstm_forecast.model.training.fit): each member's run, and the ensemble with its
validation loss and the members' spread."""
from __future__ import annotations

from dataclasses import dataclass

from lstm_forecast.model.network import Ensemble


@dataclass
class MemberResult:
    """One member's training: its seed, its best epoch and that epoch's validation loss, and its curves."""

    seed: int
    best_epoch: int
    best_val_loss: float
    train_losses: list[float]
    val_losses: list[float]
    epoch_seconds: list[float]
    stopped_early: int = 0  # the epoch early stopping ended training at; 0: it ran every epoch


@dataclass
class TrainResult:
    """The ensemble, its members' training, the ensemble's validation loss and the members' spread there (the
    standard deviation across members of their validation forecasts, averaged; 0 for one member)."""

    model: Ensemble
    members: list[MemberResult]
    val_loss: float
    spread: float

    # The first member's figures (seed = settings.seed): with one member, the whole model's.
    @property
    def best_epoch(self) -> int:
        return self.members[0].best_epoch

    @property
    def best_val_loss(self) -> float:
        return self.members[0].best_val_loss

    @property
    def train_losses(self) -> list[float]:
        return self.members[0].train_losses

    @property
    def val_losses(self) -> list[float]:
        return self.members[0].val_losses

    @property
    def epoch_seconds(self) -> list[float]:
        return [s for member in self.members for s in member.epoch_seconds]

    @property
    def stopped_early(self) -> int:
        return self.members[0].stopped_early
