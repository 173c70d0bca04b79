"""Windows of a series, sliced lazily from one strided view: never a saved (windows x length) matrix.

A window is named by its origin ``t``, the index of its first future value: inputs ``z[t - time_step : t]``,
future ``z[t : t + horizon]``. With ``scale_windows`` each window is scaled again, when its batch is gathered,
by its own statistics: ``(z - last input) / spread of the inputs``; forecasts are mapped back with the same
two numbers. Calendar ``features`` (one row per index of the series) are fed beside each input value.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import pandas as pd
import torch

from lstm_forecast.data.artifacts import WindowIndex
from lstm_forecast.prep.features import calendar_features

# The smallest spread a window is divided by, in the series' scaled units (a tenth of the training span's
# standard deviation): a flat window would otherwise blow its first change up without bound.
MIN_WINDOW_SPREAD = 0.1


class Windows:
    """Windows of ``time_step`` inputs, each followed by ``horizon`` future values, sliced lazily.

    Row ``t - T`` of the (N - T - H + 1, T + H) strided view of ``series`` holds the window at origin ``t``.
    ``span`` is the [first, stop) range of origins; ``stride`` keeps every stride-th one. ``features``:
    (N, F) inputs known in advance (calendar), or None.
    """

    def __init__(self, series: torch.Tensor, span: Sequence[int], time_step: int, target: str,
                 horizon: int = 1, stride: int = 1, scale_windows: bool = False,
                 features: torch.Tensor | None = None):
        self.time_step = time_step
        self.target = target
        self.horizon = horizon
        self.scale_windows = scale_windows
        self._series = series
        self._features = features if features is not None and features.shape[1] else None
        self._rows = series.unfold(0, time_step + horizon, 1)  # a view: no copy of the series
        self.origins = torch.arange(span[0], span[1], stride, device=series.device)

    def thinned(self, most: int) -> Windows:
        """These windows, or every k-th of them (k the smallest that leaves at most ``most``): a fixed,
        evenly spread sample, so that scoring it costs the same however long the series is."""
        step = -(-len(self) // most)
        if step <= 1:
            return self
        sample = copy.copy(self)
        sample.origins = self.origins[::step]
        return sample

    @property
    def input_size(self) -> int:
        """Inputs per time step: the value and the calendar features."""
        return 1 + (0 if self._features is None else self._features.shape[1])

    def __len__(self) -> int:
        return len(self.origins)

    def _origins(self, positions: torch.Tensor | None) -> torch.Tensor:
        return self.origins if positions is None else self.origins[positions.to(self.origins.device)]

    def _gather(self, positions: torch.Tensor | None) -> torch.Tensor:
        return self._rows[self._origins(positions) - self.time_step]  # (B, T + H): copies only these windows

    def statistics(self, positions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Each window's centre and spread, (B, 1) each: its last input and the (population) standard
        deviation of its inputs, at least MIN_WINDOW_SPREAD; 0 and 1 without ``scale_windows``."""
        return self._statistics(self._gather(positions))

    def _statistics(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = rows[:, : self.time_step]
        if not self.scale_windows:
            return inputs.new_zeros(len(inputs), 1), inputs.new_ones(len(inputs), 1)
        spread = inputs.std(dim=1, correction=0, keepdim=True).clamp_min(MIN_WINDOW_SPREAD)
        return inputs[:, -1:], spread

    def unscale(self, scaled: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Forecasts (B, H) in the windows' own scale back to the series' scale."""
        if not self.scale_windows:
            return scaled
        centre, spread = self.statistics(positions)
        return scaled * spread + centre

    def features_at(self, indices: torch.Tensor) -> torch.Tensor | None:
        """The calendar inputs at these series indices, (..., F); None without features."""
        return None if self._features is None else self._features[indices]

    def future(self, positions: torch.Tensor | None = None) -> torch.Tensor:
        """The ``horizon`` values from each origin, ``z[t : t + H]``: what forecasts are scored on. (B, H)"""
        origins = self._origins(positions)
        # Gathers H values per window, not the whole (T + H) window: validation on a long series reads this.
        return self._series[origins[:, None] + torch.arange(self.horizon, device=origins.device)]

    def mean_square(self) -> float:
        """Mean square of every value these windows read or are scored on: the loss of forecasting 0."""
        span = self._series[int(self.origins[0]) - self.time_step : int(self.origins[-1]) + self.horizon]
        return float(span.double().square().mean())

    def _scaled_rows(self, positions: torch.Tensor | None) -> torch.Tensor:
        rows = self._gather(positions)
        if not self.scale_windows:
            return rows
        centre, spread = self._statistics(rows)  # from the rows already gathered
        return (rows - centre) / spread

    def _with_features(self, values: torch.Tensor, positions: torch.Tensor | None) -> torch.Tensor:
        """values (B, T) -> x (T, B, input_size), time-major, the calendar inputs of each step beside it."""
        x = values.T.unsqueeze(-1)
        if self._features is None:
            return x
        steps = self._origins(positions)[None, :] + torch.arange(-self.time_step, 0, device=x.device)[:, None]
        return torch.cat([x, self._features[steps]], dim=-1)

    def inputs(self, positions: torch.Tensor | None = None) -> torch.Tensor:
        """x (T, B, input_size), time-major: the inputs of the windows at ``positions`` (indices into this set;
        None: all)."""
        return self._with_features(self._scaled_rows(positions)[:, : self.time_step], positions)

    def batch(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pairs, time-major: x (T, B, input_size) and y, the next ``horizon`` values after every input
        step, (T, B, H) for ``target: sequence``, or after the last step only, (1, B, H) for ``target: last``."""
        rows = self._scaled_rows(positions)
        x = self._with_features(rows[:, : self.time_step], positions)
        if self.target == "sequence":
            y = rows[:, 1:].unfold(1, self.horizon, 1).transpose(0, 1)  # step i: z[s + i + 1 : s + i + 1 + H]
        else:
            y = rows[:, self.time_step :].unsqueeze(0)
        return x, y


def split_windows(series: torch.Tensor, features: torch.Tensor | None, index: WindowIndex, split: str,
                  target: str, horizon: int, stride: int = 1) -> Windows:
    """The windows of ``split`` as ``index`` describes them (its scaling and calendar inputs)."""
    return Windows(series, index.origins[split], index.time_step, target, horizon, stride, index.scale_windows,
                   features)


def series_tensors(frame: pd.DataFrame, index: WindowIndex,
                   device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The scaled series (N,) float32 and its calendar inputs (N, 2 * len(index.calendar)), or None, from
    normalize's frame (columns ``scaled`` and, for calendar inputs, ``time``)."""
    series = torch.from_numpy(frame["scaled"].to_numpy(dtype="float32")).to(device)
    if not index.calendar:
        return series, None
    features = calendar_features(frame["time"] if "time" in frame else None, index.calendar)
    return series, torch.from_numpy(features).to(device)
