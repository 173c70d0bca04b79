"""Windows of a series, sliced lazily from one strided view: never a saved (windows x length) matrix.

A window is named by its origin ``t``, the index of its first future value: inputs ``z[t - time_step : t]``,
future ``z[t : t + horizon]``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch


class Windows:
    """Windows of ``time_step`` inputs, each followed by ``horizon`` future values, sliced lazily.

    Row ``t - T`` of the (N - T - H + 1, T + H) strided view of ``series`` holds the window at origin ``t``.
    ``span`` is the [first, stop) range of origins; ``stride`` keeps every stride-th one.
    """

    def __init__(self, series: torch.Tensor, span: Sequence[int], time_step: int, target: str,
                 horizon: int = 1, stride: int = 1):
        self.time_step = time_step
        self.target = target
        self.horizon = horizon
        self._series = series
        self._rows = series.unfold(0, time_step + horizon, 1)  # a view: no copy of the series
        self.origins = torch.arange(span[0], span[1], stride, device=series.device)

    def __len__(self) -> int:
        return len(self.origins)

    def _origins(self, positions: torch.Tensor | None) -> torch.Tensor:
        return self.origins if positions is None else self.origins[positions.to(self.origins.device)]

    def _gather(self, positions: torch.Tensor | None) -> torch.Tensor:
        return self._rows[self._origins(positions) - self.time_step]  # (B, T + H): copies only these windows

    def future(self, positions: torch.Tensor | None = None) -> torch.Tensor:
        """The ``horizon`` values from each origin, ``z[t : t + H]``: what forecasts are scored on. (B, H)"""
        origins = self._origins(positions)
        # Gathers H values per window, not the whole (T + H) window: validation on a long series reads this.
        return self._series[origins[:, None] + torch.arange(self.horizon, device=origins.device)]

    def mean_square(self) -> float:
        """Mean square of every value these windows read or are scored on: the loss of forecasting 0."""
        span = self._series[int(self.origins[0]) - self.time_step : int(self.origins[-1]) + self.horizon]
        return float(span.double().square().mean())

    def inputs(self, positions: torch.Tensor | None = None) -> torch.Tensor:
        """x (T, B, 1), time-major: the inputs of the windows at ``positions`` (indices into this set; None: all)."""
        return self._gather(positions)[:, : self.time_step].T.unsqueeze(-1)

    def batch(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pairs, time-major: x (T, B, 1) and y, the next ``horizon`` values after every input step,
        (T, B, H) for ``target: sequence``, or after the last step only, (1, B, H) for ``target: last``."""
        rows = self._gather(positions)
        x = rows[:, : self.time_step].T.unsqueeze(-1)
        if self.target == "sequence":
            y = rows[:, 1:].unfold(1, self.horizon, 1).transpose(0, 1)  # step i: z[s + i + 1 : s + i + 1 + H]
        else:
            y = rows[:, self.time_step :].unsqueeze(0)
        return x, y
