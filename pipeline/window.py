"""Window: decide which windows of ``time_step`` values each split trains or is scored on; write that index as JSON.

Reads normalize.json (splits, and whether each window is scaled by its own statistics), series.json (whether
calendar inputs have dates to read, and the frequency ``calendar: auto`` and ``evaluate.season: auto`` go by)
and, for ``time_step: auto``, ``evaluate.season``.

Windows are never materialised: train and evaluate keep the scaled series once and slice it through
``lstm_forecast.windows.Windows`` (a strided view).
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from lstm_forecast.artifacts import Normalization, SeriesInfo, WindowIndex
from lstm_forecast.errors import UserError, param_errors, stage_main
from lstm_forecast.files import check_outputs, write_json
from lstm_forecast.params import load_section, parse_section, read_params_file
from lstm_forecast.settings.evaluate import EvaluateParams
from lstm_forecast.settings.window import WindowParams
from lstm_forecast.splits import window_origins

log = logging.getLogger("window")


def check_calendar(params: WindowParams, info: SeriesInfo, info_path: Path) -> None:
    """Calendar inputs need dates: not a step index, not rows without a time column."""
    if params.calendar and params.calendar != "auto" and (info.time_column is None or info.step is not None):
        what = "no time column" if info.time_column is None else f"a step index ({info.time_column!r}), not dates"
        raise UserError(f"window.calendar={list(params.calendar)} needs a time column of dates; {info_path} has "
                        f"{what}; set window.calendar: [] or ingest.time_column")


def run(params: WindowParams, evaluate: EvaluateParams, stats_path: Path, info_path: Path, out: Path) -> None:
    """``evaluate``: that section's season (the only key read here), for ``time_step: auto``."""
    norm, info = Normalization.read(stats_path), SeriesInfo.read(info_path)
    check_calendar(params, info, info_path)
    train_length = norm.splits["train"][1] - norm.splits["train"][0]
    time_step = params.time_step
    if time_step == "auto":
        evaluate, line = evaluate.resolve_season(info.freq)
        if line is not None:
            log.info("%s", line)
        time_step = params.input_length(evaluate.season, train_length)
        log.info("time_step auto: %d (three seasons of %d, within [16, 192] and a third of the %d training values)",
                 time_step, evaluate.season, train_length)
    with param_errors("window", hint="lower window.time_step or window.horizon, or give the series more rows"):
        origins = window_origins(norm.length, norm.splits, time_step, params.horizon)
    calendar = params.calendar_inputs(info.freq)
    if params.calendar == "auto":
        log.info("calendar auto: %s for frequency %s", list(calendar) or "none", info.freq)
    index = WindowIndex(time_step, params.target, params.horizon, origins, norm.scale_windows, calendar)
    write_json(out, index.to_json())
    log.info("time_step %d, horizon %d, target %s%s%s: windows per split %s", time_step, params.horizon,
             params.target, ", each window scaled by its own statistics" if norm.scale_windows else "",
             f", calendar inputs {list(calendar)}" if calendar else "", index.counts)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (section 'window')")
    parser.add_argument("--stats", required=True, type=Path, help="split bounds from normalize, JSON")
    parser.add_argument("--info", required=True, type=Path, help="what ingest found about the series, JSON")
    parser.add_argument("--out", required=True, type=Path, help="window index, JSON")
    args = parser.parse_args(argv)
    check_outputs(args.out)  # a bad path fails before any work is done
    # The season sets time_step: auto; dvc.yaml declares evaluate.season as this stage's param too, and it is
    # the only key of that section read here.
    raw = read_params_file(args.params).get("evaluate") or {}
    evaluate = parse_section(EvaluateParams, "evaluate", {"season": raw.get("season", EvaluateParams.season)}
                             if isinstance(raw, dict) else {})
    run(load_section(WindowParams, "window", args.params), evaluate, args.stats, args.info, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
