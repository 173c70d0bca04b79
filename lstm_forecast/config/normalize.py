"""The params of the normalize stage (section `normalize` of params.yaml): read by that stage and by crossval."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from lstm_forecast.config.params import require


@dataclass(frozen=True)
class NormalizeParams:
    train: float = 0.7
    val: float = 0.15
    test: float = 0.15
    # zscore | minmax, fitted on the training span; window: a z-score, then each window scaled by its own last
    # value and spread (lstm_forecast.prep.windows), so the model never reads a level, only shapes.
    method: Literal["zscore", "minmax", "window"] = "zscore"
    # Model the one-step changes y[t] - y[t-1] instead of the levels; forecasts are summed back onto the
    # last observed value. The first point has no change and is modelled as 0. auto: the KPSS test on the
    # training span decides (lstm_forecast.prep.stationarity).
    difference: bool | Literal["auto"] = "auto"
    # Values of the modelled series far outside the training span's robust spread (lstm_forecast.prep.outliers) are
    # named in the log either way; clip: clipped to that spread for the model (training, calibration, inputs),
    # while every score is still of the values as they are.
    outliers: Literal["keep", "clip"] = "clip"

    def validate(self) -> None:
        for name in ("train", "val", "test"):
            value = getattr(self, name)
            require(0 < value < 1, f"normalize.{name}={value} should be a fraction between 0 and 1 (exclusive)")
        total = self.train + self.val + self.test
        require(
            math.isclose(total, 1.0, abs_tol=1e-9),
            f"normalize.train + val + test = {self.train} + {self.val} + {self.test} = {total:g}; they should sum to 1",
        )
