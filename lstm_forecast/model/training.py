"""The training loop: build the model, run epochs of Adam on shuffled mini-batches, stop on divergence, and
keep the weights of the epoch with the lowest validation loss."""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from tqdm import tqdm

from lstm_forecast.errors import StopAfterBatch
from lstm_forecast.model.fit_results import MemberResult
from lstm_forecast.model.forecasting import forecast_mse
from lstm_forecast.model.network import LSTMForecaster, ModelConfig
from lstm_forecast.model.optim import single_buffer_adam
from lstm_forecast.prep.windows import Windows

# Epochs with at least this many batches show a progress bar of their own.
LONG_EPOCH_BATCHES = 2000
# Training's validation losses (each epoch's, the ensemble's and its spread) are scored on at most this many
# validation windows, evenly spread: an epoch then costs the same on a series of any length. Evaluate scores
# every validation origin (or every evaluate.stride-th).
VALIDATION_WINDOWS = 1024
# Training has diverged when an epoch's loss is not finite, or is this many times the loss of forecasting
# 0 everywhere (the scaled targets' mean square): an RMSE 100 times the targets' own size.
DIVERGED_RATIO = 1e4
# A long epoch also checks for a non-finite loss every this many batches, so a NaN does not run it to the end.
# Not every batch: reading the loss back makes a GPU wait.
NAN_CHECK_BATCHES = 256


class Diverged(ValueError):
    """The loss blew up: the learning rate is too high for this model and data."""


@dataclass(frozen=True)
class FitSettings:
    """How to train: the model's shape and the optimisation, in the training loop's own terms. The defaults are
    params.yaml's (chosen on the panel, docs/panel.md); the tutorial's are lstm_forecast.config.presets.REFERENCE."""

    hidden_size: int = 16
    num_layers: int = 2
    dropout: float = 0.0
    lr: float = 0.012
    # The loop needs a number: train.batch_size: auto's (AUTO_BATCH in lstm_forecast.config.feasibility, which
    # TrainParams resolves for the series; tests/test_defaults.py checks the two agree).
    batch_size: int = 32
    epochs: int = 30
    seed: int = 42
    # Epochs without validation improvement before stopping (0: off); 10 changed no validation score but one
    # (better) on the panel, where 5 cost accuracy (docs/panel.md).
    patience: int = 10
    # recursive: a one-step model rolled forward at forecast time; direct: H outputs at once.
    strategy: Literal["recursive", "direct"] = "recursive"
    # Batches per epoch, drawn at random from all training windows; 0: every window once.
    steps_per_epoch: int = 50
    # c: lstm_cpu.c's kernel for small models on the CPU (needs a C compiler); torch: torch's LSTM.
    lstm_kernel: Literal["c", "torch"] = "c"
    # Members trained from seeds seed, seed + 1, ...; the model forecasts with their median.
    ensemble: int = 3
    # A linear autoregression on the window's values added to the output (ModelConfig.highway).
    highway: bool = True


@dataclass
class BestEpoch:
    """The epoch with the lowest validation loss so far, and a copy of its weights."""

    epoch: int = 0
    val_loss: float = math.inf
    state: dict[str, torch.Tensor] = field(default_factory=dict)

    def offer(self, epoch: int, val_loss: float, model: nn.Module) -> None:
        if val_loss < self.val_loss:
            self.epoch, self.val_loss, self.state = epoch, val_loss, copy.deepcopy(model.state_dict())


def build_model(settings: FitSettings, outputs: int, device: torch.device, seed: int | None = None,
                inputs: int = 1, time_step: int = 1) -> LSTMForecaster:
    """The network, seeded by ``seed`` (default ``settings.seed``), on ``device``; with ``settings.highway``
    its autoregression reads ``time_step`` lags."""
    torch.manual_seed(settings.seed if seed is None else seed)
    config = ModelConfig(settings.hidden_size, settings.num_layers, settings.dropout, input_size=inputs,
                         output_size=outputs, lstm_kernel=settings.lstm_kernel,
                         highway=time_step if settings.highway else 0)
    return LSTMForecaster(config).to(device)


def check_divergence(epoch: int, train_loss: float, val_loss: float, zero_loss: float) -> None:
    """Raise Diverged when an epoch's losses are not finite or far past forecasting 0 everywhere."""
    if not (math.isfinite(train_loss) and math.isfinite(val_loss)) or train_loss > DIVERGED_RATIO * zero_loss:
        raise Diverged(f"training diverged at epoch {epoch}: train loss {train_loss:.4g}, validation loss "
                       f"{val_loss:.4g} (forecasting 0 everywhere scores {zero_loss:.4g})")


def train_epoch(model: LSTMForecaster, train: Windows, order: torch.Tensor, settings: FitSettings, epoch: int,
                step: tuple, stop: StopAfterBatch, progress=lambda batch, batches: None) -> float:
    """One pass over the windows at ``order``, in batches; the mean training loss. ``step`` is (optimizer,
    flat gradient buffer)."""
    optimizer, grads = step
    loss_fn = nn.MSELoss()
    last_only = train.target == "last"
    model.train()
    running = 0.0
    # A long epoch gets its own bar, with the time left; tqdm shows it on a terminal only.
    starts = range(0, len(order), settings.batch_size)
    inner = tqdm(starts, desc=f"epoch {epoch}", unit="batch", leave=False, file=sys.stderr,
                 disable=None if len(starts) >= LONG_EPOCH_BATCHES else True, mininterval=1.0)
    for batch, i in enumerate(inner, start=1):
        x, y = train.batch(order[i : i + settings.batch_size])
        pred = model.forward_time_major(x)  # (T, B, outputs)
        loss = loss_fn(pred[-1:] if last_only else pred, y)
        grads.zero_()
        loss.backward()
        optimizer.step()
        running += loss.detach() * x.shape[1]
        if batch % NAN_CHECK_BATCHES == 0 and not torch.isfinite(running):
            raise Diverged(f"training diverged at epoch {epoch}, batch {batch}: the loss is not finite")
        stop.check(f"at epoch {epoch}, after batch {batch} of {len(starts)}")
        progress(batch, len(starts))
    return float(running) / len(order)


def fit_member(model: LSTMForecaster, train: Windows, val: Windows, settings: FitSettings, seed: int,
               stop: StopAfterBatch, tick=lambda epoch, detail="": None, epoch_done=lambda: None) -> MemberResult:
    """Train ``model`` with Adam on mini-batches shuffled by ``seed``; keep the weights of the epoch with the
    lowest validation loss, scored each epoch on at most VALIDATION_WINDOWS of ``val``, evenly spread.
    ``tick(epoch, detail)`` is called often, for progress lines; ``epoch_done()`` after each epoch."""
    sample = val.thinned(VALIDATION_WINDOWS)
    orders, step = optimisation(model, train, settings, seed)
    best = BestEpoch(state=copy.deepcopy(model.state_dict()))
    result = MemberResult(seed, 0, math.inf, [], [], [])
    zero_loss = train.mean_square()
    bar = tqdm(range(1, settings.epochs + 1), desc=f"train (seed {seed})", unit="epoch", disable=None,
               file=sys.stderr)
    for epoch in bar:
        started = time.perf_counter()
        train_loss = train_epoch(model, train, orders(), settings, epoch, step, stop,
                                 lambda batch, batches: tick(epoch, f", batch {batch} of {batches}"))
        model.eval()
        val_loss = forecast_mse(model, sample, settings.strategy)
        stop.check(f"at epoch {epoch}, after its validation")  # pressed during validation
        result.epoch_seconds.append(time.perf_counter() - started)
        check_divergence(epoch, train_loss, val_loss, zero_loss)
        result.train_losses.append(train_loss)
        result.val_losses.append(val_loss)
        best.offer(epoch, val_loss, model)
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}", best=best.epoch, refresh=False)
        epoch_done()
        tick(epoch, f" done: train loss {train_loss:.4f}, validation loss {val_loss:.4f} (best epoch {best.epoch})")
        if settings.patience and epoch - best.epoch >= settings.patience:
            result.stopped_early = epoch
            break
    bar.close()
    model.load_state_dict(best.state)
    model.eval()
    result.best_val_loss, result.best_epoch = best.val_loss, best.epoch
    return result


def optimisation(model: LSTMForecaster, train: Windows, settings: FitSettings, seed: int):
    """The epochs' window orders, drawn from a generator seeded by ``seed`` (a function giving the next
    epoch's), and the optimizer step (Adam and its flat gradient buffer)."""
    device = next(model.parameters()).device
    shuffle = torch.Generator(device="cpu").manual_seed(seed)
    n = len(train)
    per_epoch = min(n, settings.steps_per_epoch * settings.batch_size) if settings.steps_per_epoch else n
    return (lambda: torch.randperm(n, generator=shuffle)[:per_epoch].to(device)), single_buffer_adam(model, settings.lr)
