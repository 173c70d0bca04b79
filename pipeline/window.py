"""Window: decide which windows of ``time_step`` values each split trains or is scored on; write that index as JSON.

Reads normalize.json (splits, and whether each window is scaled by its own statistics), series.json (whether
calendar inputs have dates to read, and the frequency ``calendar: auto`` and ``evaluate.season: auto`` go by)
and, for ``time_step: auto``, ``evaluate.season``.

Windows are never materialised: train and evaluate keep the scaled series once and slice it through
``lstm_forecast.prep.windows.Windows`` (a strided view).
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


from lstm_forecast.data.artifacts import Normalization, SeriesInfo
from lstm_forecast.data.files import check_outputs, write_json
from lstm_forecast.config.params import load_keys, load_section
from lstm_forecast.config.plan import check_calendar, plan_windows
from lstm_forecast.config.crossval import CrossvalParams
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.forecast import ForecastParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.config.window import WindowParams
from pipeline.edge import stage_main

log = logging.getLogger("window")


def run(params: WindowParams, later: Later, stats_path: Path, info_path: Path, out: Path) -> None:
    """``later``: the few keys of the later stages' sections whose limits depend on the windows."""
    norm, info = Normalization.read(stats_path), SeriesInfo.read(info_path)
    check_calendar(params, info, info_path)
    index, _, lines = plan_windows(norm, info.freq, params, later.evaluate, later.train, later.forecast,
                                   later.crossval)
    for line in lines:
        log.info("%s", line)
    write_json(out, index.to_json())
    log.info("time_step %d, horizon %d, target %s%s%s: windows per split %s", index.time_step, index.horizon,
             index.target, ", each window scaled by its own statistics" if index.scale_windows else "",
             f", calendar inputs {list(index.calendar)}" if index.calendar else "", index.counts)


@dataclass(frozen=True)
class Later:
    """The keys of later stages' sections this stage reads (each declared in dvc.yaml)."""

    evaluate: EvaluateParams
    train: TrainParams
    forecast: ForecastParams
    crossval: CrossvalParams

    KEYS = {"evaluate": ("season", "stride", "interval", "interval_window", "interval_method"),
            "train": ("batch_size", "strategy"), "forecast": ("steps", "levels"), "crossval": ("folds",)}

    @classmethod
    def read(cls, path: str) -> Later:
        classes = {"evaluate": EvaluateParams, "train": TrainParams, "forecast": ForecastParams,
                   "crossval": CrossvalParams}
        return cls(**{name: load_keys(c, name, cls.KEYS[name], path) for name, c in classes.items()})


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (section 'window')")
    parser.add_argument("--stats", required=True, type=Path, help="split bounds from normalize, JSON")
    parser.add_argument("--info", required=True, type=Path, help="what ingest found about the series, JSON")
    parser.add_argument("--out", required=True, type=Path, help="window index, JSON")
    args = parser.parse_args(argv)
    check_outputs(args.out)  # a bad path fails before any work is done
    # dvc.yaml declares each key of another section read here as this stage's param too.
    run(load_section(WindowParams, "window", args.params), Later.read(args.params), args.stats, args.info, args.out)

if __name__ == "__main__":
    raise SystemExit(main())
