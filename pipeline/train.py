"""Train: fit the LSTM on the training windows, keep the best validation epoch; write the checkpoint and loss curves."""
from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from lstm_forecast.data.artifacts import WindowIndex
from lstm_forecast.model.checkpoint import save_checkpoint
from lstm_forecast.errors import UserError, param_errors
from lstm_forecast.data.files import atomic_dir, check_outputs, read_parquet
from lstm_forecast.model.network import resolve_device
from lstm_forecast.config.params import load_section
from lstm_forecast.config.train import TrainParams
from lstm_forecast.model.fitting import train_on
from lstm_forecast.model.training import Diverged
from pipeline.edge import stage_main

log = logging.getLogger("train")

# Seconds per epoch are also reported per this many windows: the reference tutorial's epoch size.
REFERENCE_WINDOWS = 700


@contextlib.contextmanager
def diverged_as_user_error(params: TrainParams) -> Iterator[None]:
    """The training loop's divergence as the stage's one line, naming the param to lower."""
    try:
        yield
    except Diverged as err:
        raise UserError(f"{err}; lower train.lr (now {params.lr:g}); nothing was saved") from None


def run(params: TrainParams, scaled_path: Path, windows_path: Path, model_out: Path, live_dir: Path) -> None:
    from dvclive import Live  # imported here: it is slow to import and only this function needs it

    torch.set_num_threads(params.threads)
    with param_errors("train"):
        device = resolve_device(params.device)
    index = WindowIndex.read(windows_path)
    frame = read_parquet(scaled_path, columns=["scaled", "time"] if index.calendar else ["scaled"])
    with diverged_as_user_error(params), param_errors("train", {"calendar": "window.calendar"}):
        result, meta = train_on(frame, index, params, device, lambda kernels: log.info("LSTM kernel: %s", kernels))
    save_checkpoint(model_out, result.model, meta)
    # The curves are logged once training has succeeded, so a diverged or failed run leaves none behind.
    # dvcyaml=False: dvc.yaml declares our metrics and plots; dvclive must not rewrite it.
    # Into a temporary folder swapped in whole, so a stop mid-way never leaves a partial set of curves.
    with atomic_dir(live_dir) as tmp_dir, Live(dir=str(tmp_dir), dvcyaml=False, save_dvc_exp=False,
                                               report=None) as live:
        for train_loss, val_loss in zip(result.train_losses, result.val_losses):
            live.log_metric("train_loss", train_loss)
            live.log_metric("val_loss", val_loss)
            live.next_step()
        live.summary["best_epoch"] = result.best_epoch
        live.summary["best_val_loss"] = result.best_val_loss
        if len(result.members) > 1:
            live.summary["ensemble_val_loss"] = result.val_loss
            live.summary["ensemble_spread"] = result.spread
            for k, member in enumerate(result.members, start=1):
                live.summary[f"member{k}_best_epoch"] = member.best_epoch
                live.summary[f"member{k}_best_val_loss"] = member.best_val_loss
    per_epoch = statistics.median(result.epoch_seconds)
    log.info(
        "%d epochs, median %.3f s/epoch (%.3f s per %d windows); best epoch %d, validation MSE %.5f",
        len(result.epoch_seconds), per_epoch, per_epoch * REFERENCE_WINDOWS / index.counts["train"], REFERENCE_WINDOWS,
        result.best_epoch, result.best_val_loss,
    )
    if len(result.members) > 1:
        log.info("ensemble of %d (seeds %d..%d, median forecast): validation MSE %.5f; members %s; spread "
                 "between members %.5f (mean standard deviation of their validation forecasts, scaled)",
                 len(result.members), result.members[0].seed, result.members[-1].seed, result.val_loss,
                 ", ".join(f"{m.best_val_loss:.5f} (epoch {m.best_epoch})" for m in result.members), result.spread)


@stage_main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (section 'train')")
    parser.add_argument("--scaled", required=True, type=Path, help="scaled series from normalize, Parquet")
    parser.add_argument("--windows", required=True, type=Path, help="window index from window, JSON")
    parser.add_argument("--model", required=True, type=Path, help="checkpoint to write")
    parser.add_argument("--live", required=True, type=Path, help="dvclive folder for the loss curves")
    args = parser.parse_args(argv)
    check_outputs(args.model, args.live)  # a bad path fails before any work is done
    run(load_section(TrainParams, "train", args.params), args.scaled, args.windows, args.model, args.live)


if __name__ == "__main__":
    raise SystemExit(main())
