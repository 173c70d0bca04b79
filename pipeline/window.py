"""Window: decide which windows of ``time_step`` values each split trains or is scored on; write that index as JSON.

Windows are never materialised: train and evaluate keep the scaled series once and slice it through
``lstm_forecast.windows.Windows`` (a strided view).
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from lstm_forecast.artifacts import Normalization, WindowIndex
from lstm_forecast.errors import param_errors, stage_main
from lstm_forecast.files import check_outputs, write_json
from lstm_forecast.params import load_section
from lstm_forecast.settings.window import WindowParams
from lstm_forecast.splits import window_origins

log = logging.getLogger("window")


def run(params: WindowParams, stats_path: Path, out: Path) -> None:
    norm = Normalization.read(stats_path)
    with param_errors("window", hint="lower window.time_step or window.horizon, or give the series more rows"):
        origins = window_origins(norm.length, norm.splits, params.time_step, params.horizon)
    index = WindowIndex(params.time_step, params.target, params.horizon, origins)
    write_json(out, index.to_json())
    log.info("time_step %d, horizon %d, target %s: windows per split %s", params.time_step, params.horizon,
             params.target, index.counts)


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
