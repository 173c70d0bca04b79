"""Window: decide which windows of ``time_step`` values each split trains or is scored on; write that index as JSON.

Windows are never materialised: train and evaluate keep the scaled series once and slice it through
``Windows`` (a strided view made with ``Tensor.unfold``).
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from pipeline.errors import UserError, stage_main
from pipeline.files import check_outputs, read_json, write_json
from pipeline.params import load_section, require

log = logging.getLogger("window")


@dataclass(frozen=True)
class WindowParams:
    time_step: int = 96
    target: Literal["sequence", "last"] = "sequence"
    horizon: int = 1

    def validate(self) -> None:
        require(self.time_step >= 1, f"window.time_step={self.time_step} should be >= 1")
        require(self.horizon >= 1, f"window.horizon={self.horizon} should be >= 1")


def window_ends(length: int, splits: dict[str, list[int]], time_step: int, horizon: int = 1) -> dict[str, list[int]]:
    """[first, stop) of ``t``, the index of each window's first future value, per split.

    A window at ``t`` reads inputs ``z[t - time_step : t]`` and is scored on ``z[t : t + horizon]``.
    It belongs to the split that holds all its future values; its inputs may reach back into earlier
    splits (values known at forecast time), so only the training split loses its first ``time_step``
    points, and every split loses its last ``horizon - 1``.
    """
    ends = {name: [max(a, time_step), b - horizon + 1] for name, (a, b) in splits.items()}
    empty = [name for name, (a, b) in ends.items() if b - a < 1]
    if empty:
        sizes = "/".join(str(b - a) for a, b in splits.values())
        raise UserError(
            f"window.time_step={time_step} leaves no whole window in the {' and '.join(empty)} split: "
            f"series length {length}, train/val/test sizes {sizes}; a training window needs time_step + horizon "
            f"= {time_step + horizon} values and every split at least horizon = {horizon}, so lower "
            f"window.time_step or window.horizon, or give the series more rows"
        )
    return ends


class Windows:
    """Windows of ``time_step`` inputs, each followed by ``horizon`` future values, sliced lazily.

    A window is named by ``t``, the index of its first future value: inputs ``z[t - T : t]``, future
    ``z[t : t + H]``. Row ``t - T`` of the (N - T - H + 1, T + H) strided view of ``series`` holds both.
    ``ends`` is the [first, stop) range of ``t``; ``stride`` keeps every stride-th window of it.
    """

    def __init__(self, series: torch.Tensor, ends: Sequence[int], time_step: int, target: str,
                 horizon: int = 1, stride: int = 1):
        self.time_step = time_step
        self.target = target
        self.horizon = horizon
        self._series = series
        self._rows = series.unfold(0, time_step + horizon, 1)  # a view: no copy of the series
        self.ends = torch.arange(ends[0], ends[1], stride, device=series.device)

    def __len__(self) -> int:
        return len(self.ends)

    def _gather(self, positions: torch.Tensor | None) -> torch.Tensor:
        ends = self.ends if positions is None else self.ends[positions.to(self.ends.device)]
        return self._rows[ends - self.time_step]  # (B, T + H): copies only these windows

    def future(self, positions: torch.Tensor | None = None) -> torch.Tensor:
        """The ``horizon`` values after each window, ``z[t : t + H]``: what forecasts are scored on. (B, H)"""
        ends = self.ends if positions is None else self.ends[positions.to(self.ends.device)]
        # Gathers H values per window, not the whole (T + H) window: validation on a long series reads this.
        return self._series[ends[:, None] + torch.arange(self.horizon, device=ends.device)]

    def mean_square(self) -> float:
        """Mean square of every value these windows read or are scored on: the loss of forecasting 0."""
        span = self._series[int(self.ends[0]) - self.time_step : int(self.ends[-1]) + self.horizon]
        return float(span.double().square().mean())

    def next_values(self) -> torch.Tensor:
        """The value right after each window, ``z[t]``. (len,)"""
        return self.future()[:, 0]

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


def run(params: WindowParams, stats_path: Path, out: Path) -> None:
    stats = read_json(stats_path)
    ends = window_ends(stats["length"], stats["splits"], params.time_step, params.horizon)
    counts = {name: b - a for name, (a, b) in ends.items()}
    write_json(out, {"time_step": params.time_step, "target": params.target, "horizon": params.horizon,
                     "ends": ends, "counts": counts})
    log.info("time_step %d, horizon %d, target %s: windows per split %s", params.time_step, params.horizon,
             params.target, counts)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (section 'window')")
    parser.add_argument("--stats", required=True, type=Path, help="split bounds from normalize, JSON")
    parser.add_argument("--out", required=True, type=Path, help="window index, JSON")
    args = parser.parse_args(argv)
    check_outputs(args.out)  # a bad path fails before any work is done
    run(load_section(WindowParams, "window", args.params), args.stats, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
