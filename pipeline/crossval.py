"""Crossval: rebuild and score every model on K expanding-window folds; write per-fold scores, their means
and standard deviations, and MASE per fold for a plot."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from lstm_forecast.data.artifacts import SeriesInfo
from lstm_forecast.errors import UserError, param_errors
from lstm_forecast.data.files import check_outputs, read_parquet, write_csv, write_json
from lstm_forecast.evaluation.folds import cross_validate, crossval_summary
from lstm_forecast.model.network import resolve_device
from lstm_forecast.config.params import load_section
from lstm_forecast.config.keys import FOLD_KEYS
from lstm_forecast.config.crossval import CrossvalParams
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.normalize import NormalizeParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.config.window import WindowParams
from lstm_forecast.prep.splits import fold_splits
from lstm_forecast.model.training import Diverged
from pipeline.edge import stage_main

log = logging.getLogger("crossval")


def run(params: CrossvalParams, params_path: str, series_path: Path, info_path: Path, metrics_out: Path,
        folds_out: Path) -> None:
    normalize = load_section(NormalizeParams, "normalize", params_path)
    window = load_section(WindowParams, "window", params_path)
    train = load_section(TrainParams, "train", params_path)
    evaluate = load_section(EvaluateParams, "evaluate", params_path)
    torch.set_num_threads(train.threads)
    with param_errors("train"):
        device = resolve_device(train.device)
    series, freq = read_parquet(series_path), SeriesInfo.read(info_path).freq
    evaluate, line = evaluate.resolve_season(freq)  # once, for every fold
    if line is not None:
        log.info("%s", line)
    with param_errors("crossval", hint="lower crossval.folds, or give the series more rows"):
        plans = fold_splits(len(series), (normalize.train, normalize.val, normalize.test), params.folds)
    done = []
    try:
        with param_errors("window", FOLD_KEYS):
            for fold in cross_validate(series, plans, normalize, window, train, evaluate, device, freq):
                done.append(fold)
                log.info("fold %d of %d: test %s, LSTM MASE %.3f (persistence %.3f)", fold.k, params.folds,
                         fold.splits["test"], fold.test["lstm_mase"], fold.test["persistence_mase"])
    except Diverged as err:
        raise UserError(f"{err}; lower train.lr (now {train.lr:g})") from None
    summary, models = crossval_summary(params.folds, done)
    write_json(metrics_out, summary)
    scores = [fold.test for fold in done]
    table = pd.DataFrame({"fold": range(1, len(scores) + 1)} | {m: [s[f"{m}_mase"] for s in scores] for m in models})
    write_csv(folds_out, table)
    if scores:
        log.info("MASE over %d folds, mean +- sd: %s", len(scores), ", ".join(
            f"{m} {table[m].mean():.3f} +- {table[m].std(ddof=1) if len(scores) > 1 else 0.0:.3f}" for m in models))


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml",
                        help="params file (section 'crossval'; and normalize, window, train, evaluate for each fold)")
    parser.add_argument("--series", required=True, type=Path, help="tidy series from ingest, Parquet")
    parser.add_argument("--info", required=True, type=Path, help="what ingest found about the series, JSON")
    parser.add_argument("--metrics", required=True, type=Path, help="per-fold scores and their mean and sd, JSON")
    parser.add_argument("--folds", required=True, type=Path, help="MASE per fold and model, CSV (for a plot)")
    args = parser.parse_args(argv)
    check_outputs(args.metrics, args.folds)  # a bad path fails before any work is done
    run(load_section(CrossvalParams, "crossval", args.params), args.params, args.series, args.info, args.metrics,
        args.folds)


if __name__ == "__main__":
    raise SystemExit(main())
