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
from pipeline.files import read_json, write_json
from pipeline.params import load_section, require

log = logging.getLogger("window")


@dataclass(frozen=True)
class WindowParams:
    time_step: int = 96
    target: Literal["sequence", "last"] = "sequence"

    def validate(self) -> None:
        require(self.time_step >= 1, f"window.time_step={self.time_step} should be >= 1")


def window_ends(length: int, splits: dict[str, list[int]], time_step: int) -> dict[str, list[int]]:
    """[first, stop) of the index ``t`` of each window's last target, per split.

    A window ending at target ``t`` reads inputs ``z[t - time_step : t]``. It belongs to the split
    holding ``t``; its inputs may reach back into earlier splits (values known at forecast time),
    so only the training split loses its first ``time_step`` points.
    """
    ends = {name: [max(a, time_step), b] for name, (a, b) in splits.items()}
    empty = [name for name, (a, b) in ends.items() if b - a < 1]
    if empty:
        sizes = "/".join(str(b - a) for a, b in splits.values())
        raise UserError(
            f"window.time_step={time_step} leaves no whole window in the {' and '.join(empty)} split: "
            f"series length {length}, train/val/test sizes {sizes}; a training window needs time_step + 1 "
            f"= {time_step + 1} values, so lower window.time_step or give the series more rows"
        )
    return ends


class Windows:
    """The windows ending at targets ``ends`` of one scaled series, sliced lazily.

    ``series``: (N,) float tensor. Row ``t - time_step`` of the (N - time_step, time_step + 1) view
    holds ``z[t - time_step : t + 1]``: the inputs followed by the next value.
    """

    def __init__(self, series: torch.Tensor, ends: Sequence[int], time_step: int, target: str):
        self.time_step = time_step
        self.target = target
        self._rows = series.unfold(0, time_step + 1, 1)  # a view: no copy of the series
        self.ends = torch.arange(ends[0], ends[1], device=series.device)

    def __len__(self) -> int:
        return len(self.ends)

    def next_values(self) -> torch.Tensor:
        """The value right after each window, ``z[t]``: what a one-step forecast is scored on. (len,)"""
        return self._rows[self.ends - self.time_step, -1]

    def batch(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows at ``positions`` (indices into this set): x (B, T, 1) and y (B, T, 1) or (B, 1, 1)."""
        rows = self._rows[self.ends[positions.to(self.ends.device)] - self.time_step]  # (B, T + 1): gathers only this batch
        x = rows[:, :-1].unsqueeze(-1)
        y = rows[:, 1:] if self.target == "sequence" else rows[:, -1:]
        return x, y.unsqueeze(-1)


def run(params: WindowParams, stats_path: Path, out: Path) -> None:
    stats = read_json(stats_path)
    ends = window_ends(stats["length"], stats["splits"], params.time_step)
    counts = {name: b - a for name, (a, b) in ends.items()}
    write_json(out, {"time_step": params.time_step, "target": params.target, "ends": ends, "counts": counts})
    log.info("time_step %d, target %s: windows per split %s", params.time_step, params.target, counts)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (section 'window')")
    parser.add_argument("--stats", required=True, type=Path, help="split bounds from normalize, JSON")
    parser.add_argument("--out", required=True, type=Path, help="window index, JSON")
    args = parser.parse_args(argv)
    run(load_section(WindowParams, "window", args.params), args.stats, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
