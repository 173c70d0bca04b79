"""The params of the window stage (section `window` of params.yaml): read by that stage and by crossval."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lstm_forecast.prep.features import CALENDAR, auto_time_step, calendar_for
from lstm_forecast.config.params import require


@dataclass(frozen=True)
class WindowParams:
    # Input length; auto: three seasons (evaluate.season), within [16, 192] and a third of the training span.
    time_step: int | Literal["auto"] = "auto"
    target: Literal["sequence", "last"] = "sequence"
    horizon: int = 1
    # Calendar inputs beside the value (lstm_forecast.prep.features), e.g. [month] or [hour, dayofweek]; auto: those
    # of the series' frequency (none without dates).
    calendar: tuple[str, ...] | Literal["auto"] = "auto"

    def validate(self) -> None:
        require(self.time_step == "auto" or self.time_step >= 1,
                f"window.time_step={self.time_step} should be >= 1 or auto")
        require(self.horizon >= 1, f"window.horizon={self.horizon} should be >= 1")
        if self.calendar == "auto":
            return
        unknown = [name for name in self.calendar if name not in CALENDAR]
        require(not unknown and len(set(self.calendar)) == len(self.calendar),
                f"window.calendar={list(self.calendar)} should list each feature once, from: {', '.join(CALENDAR)}")

    def calendar_inputs(self, freq: str | None) -> tuple[str, ...]:
        """``calendar``, with ``auto`` resolved from the series' frequency (ingest's series.json)."""
        return calendar_for(freq) if self.calendar == "auto" else self.calendar

    def input_length(self, season: int, train_length: int) -> int:
        """``time_step``, with ``auto`` resolved from the season and the training span's length."""
        return auto_time_step(season, train_length) if self.time_step == "auto" else self.time_step
