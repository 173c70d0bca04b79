"""Train: fit the LSTM on the training windows, keep the best validation epoch; write the checkpoint and loss curves."""
from __future__ import annotations

import argparse
import copy
import logging
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from tqdm import tqdm

from pipeline.errors import StopAfterBatch, UserError, stage_main
from pipeline.files import atomic_dir, check_outputs, read_json, read_parquet
from pipeline.model import LSTMForecaster, ModelConfig, forecast, resolve_device, save_checkpoint
from pipeline.optim import single_buffer_adam
from pipeline.params import load_section, require
from pipeline.window import Windows

log = logging.getLogger("train")

# Seconds per epoch are also reported per this many windows: the reference tutorial's epoch size.
REFERENCE_WINDOWS = 700
# Epochs with at least this many batches show a progress bar of their own.
LONG_EPOCH_BATCHES = 2000
# Training has diverged when an epoch's loss is not finite, or is this many times the loss of forecasting
# 0 everywhere (the scaled targets' mean square): an RMSE 100 times the targets' own size.
DIVERGED_RATIO = 1e4
# A long epoch also checks for a non-finite loss every this many batches, so a NaN does not run it to the end.
# Not every batch: reading the loss back makes a GPU wait.
NAN_CHECK_BATCHES = 256


@dataclass(frozen=True)
class TrainParams:
    hidden_size: int = 8
    num_layers: int = 2
    dropout: float = 0.0
    lr: float = 0.006
    batch_size: int = 7
    epochs: int = 100
    seed: int = 42
    patience: int = 0
    threads: int = 1
    device: Literal["auto", "cpu", "cuda"] = "auto"
    strategy: Literal["recursive", "direct"] = "recursive"
    # Batches per epoch, drawn at random from all training windows; 0: every window once.
    steps_per_epoch: int = 0
    # c: pipeline/lstm_cpu.c's kernel for small models on the CPU (needs a C compiler); torch: torch's LSTM.
    lstm_kernel: Literal["c", "torch"] = "c"

    def validate(self) -> None:
        require(self.hidden_size >= 1, f"train.hidden_size={self.hidden_size} should be >= 1")
        require(self.num_layers >= 1, f"train.num_layers={self.num_layers} should be >= 1")
        require(0 <= self.dropout < 1, f"train.dropout={self.dropout} should be in [0, 1)")
        require(self.lr > 0 and math.isfinite(self.lr), f"train.lr={self.lr} should be a positive number")
        require(self.batch_size >= 1, f"train.batch_size={self.batch_size} should be >= 1")
        require(self.epochs >= 1, f"train.epochs={self.epochs} should be >= 1")
        require(self.patience >= 0, f"train.patience={self.patience} should be >= 0 (0 turns early stopping off)")
        require(self.threads >= 1, f"train.threads={self.threads} should be >= 1")
        require(self.steps_per_epoch >= 0, f"train.steps_per_epoch={self.steps_per_epoch} should be >= 0 (0: all)")


def forecast_mse(model: nn.Module, windows: Windows, strategy: str) -> float:
    """Mean squared error of the ``windows.horizon``-step forecasts over ``windows``: the validation loss."""
    return float(((forecast(model, windows, windows.horizon, strategy) - windows.future()) ** 2).mean())


@dataclass
class TrainResult:
    model: LSTMForecaster
    best_epoch: int
    best_val_loss: float
    train_losses: list[float]
    val_losses: list[float]
    epoch_seconds: list[float]


def fit(train: Windows, val: Windows, params: TrainParams, device: torch.device) -> TrainResult:
    """Train with Adam on shuffled mini-batches; keep the weights of the epoch with the lowest validation loss.

    ``train`` yields the training pairs (one-step targets for ``recursive``, ``horizon`` targets for
    ``direct``); ``val`` holds windows of the full horizon, whose H-step forecasts are scored in the
    modelled series' scaled units (changes, with ``normalize.difference``; evaluate scores levels).
    """
    torch.manual_seed(params.seed)
    shuffle = torch.Generator(device="cpu").manual_seed(params.seed)
    outputs = val.horizon if params.strategy == "direct" else 1
    model = LSTMForecaster(ModelConfig(params.hidden_size, params.num_layers, params.dropout, output_size=outputs,
                                       lstm_kernel=params.lstm_kernel))
    model = model.to(device)
    log.info("LSTM kernel: %s", model.prepare_kernels(device))
    optimizer, grads = single_buffer_adam(model, params.lr)
    loss_fn = nn.MSELoss()
    last_only = train.target == "last"
    n = len(train)
    per_epoch = min(n, params.steps_per_epoch * params.batch_size) if params.steps_per_epoch else n
    best = (math.inf, 0, copy.deepcopy(model.state_dict()))
    result = TrainResult(model, 0, math.inf, [], [], [])
    zero_loss = train.mean_square()
    bar = tqdm(range(1, params.epochs + 1), desc="train", unit="epoch", disable=None, file=sys.stderr)
    with StopAfterBatch() as stop:
        for epoch in bar:
            started = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=shuffle)[:per_epoch].to(device)
            running = 0.0
            # A long epoch gets its own bar, with the time left; tqdm shows it on a terminal only.
            starts = range(0, per_epoch, params.batch_size)
            inner = tqdm(starts, desc=f"epoch {epoch}", unit="batch", leave=False, file=sys.stderr,
                         disable=None if len(starts) >= LONG_EPOCH_BATCHES else True, mininterval=1.0)
            for batch, i in enumerate(inner, start=1):
                x, y = train.batch(order[i : i + params.batch_size])
                pred = model.forward_time_major(x)  # (T, B, outputs)
                loss = loss_fn(pred[-1:] if last_only else pred, y)
                grads.zero_()
                loss.backward()
                optimizer.step()
                running += loss.detach() * x.shape[1]
                if batch % NAN_CHECK_BATCHES == 0 and not torch.isfinite(running):
                    raise UserError(f"training diverged at epoch {epoch}, batch {batch}: the loss is not finite; "
                                    f"lower train.lr (now {params.lr:g}); nothing was saved")
                stop.check(f"at epoch {epoch}, after batch {batch} of {len(starts)}")
            model.eval()
            train_loss = float(running) / per_epoch
            val_loss = forecast_mse(model, val, params.strategy)
            stop.check(f"at epoch {epoch}, after its validation")  # pressed during validation
            result.epoch_seconds.append(time.perf_counter() - started)
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)) or train_loss > DIVERGED_RATIO * zero_loss:
                raise UserError(
                    f"training diverged at epoch {epoch}: train loss {train_loss:.4g}, validation loss {val_loss:.4g} "
                    f"(forecasting 0 everywhere scores {zero_loss:.4g}); lower train.lr (now {params.lr:g}); "
                    "nothing was saved"
                )
            result.train_losses.append(train_loss)
            result.val_losses.append(val_loss)
            if val_loss < best[0]:
                best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
            bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}", best=best[1], refresh=False)
            if params.patience and epoch - best[1] >= params.patience:
                log.info("early stop at epoch %d: no validation improvement for %d epochs", epoch, params.patience)
                break
    bar.close()
    model.load_state_dict(best[2])
    result.best_val_loss, result.best_epoch = best[0], best[1]
    return result


def run(params: TrainParams, scaled_path: Path, windows_path: Path, model_out: Path, live_dir: Path) -> None:
    from dvclive import Live  # imported here: it is slow to import and only this function needs it

    torch.set_num_threads(params.threads)
    device = resolve_device(params.device, "train.device")
    index = read_json(windows_path)
    scaled = read_parquet(scaled_path, columns=["scaled"])["scaled"].to_numpy(dtype="float32")
    series = torch.from_numpy(scaled).to(device)  # float32, shared with the numpy array on CPU
    horizon = index["horizon"]
    # recursive: the model learns one step and is rolled forward at forecast time; direct: all H at once.
    train_horizon = horizon if params.strategy == "direct" else 1
    train = Windows(series, index["ends"]["train"], index["time_step"], index["target"], train_horizon)
    val = Windows(series, index["ends"]["val"], index["time_step"], "last", horizon)
    if params.batch_size > len(train):
        raise UserError(f"train.batch_size={params.batch_size} is larger than the {len(train)} training windows")
    log.info("training on %d windows (validation %d) on %s, %d thread(s)", len(train), len(val), device, params.threads)

    result = fit(train, val, params, device)
    save_checkpoint(
        model_out,
        result.model,
        {"best_epoch": result.best_epoch, "time_step": index["time_step"], "target": index["target"],
         "horizon": horizon, "strategy": params.strategy},
    )
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
    per_epoch = statistics.median(result.epoch_seconds)
    log.info(
        "%d epochs, median %.3f s/epoch (%.3f s per %d windows); best epoch %d, validation MSE %.5f",
        len(result.epoch_seconds), per_epoch, per_epoch * REFERENCE_WINDOWS / len(train), REFERENCE_WINDOWS,
        result.best_epoch, result.best_val_loss,
    )


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
