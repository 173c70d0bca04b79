"""Forecasts from windows: ``recursive`` (a one-step model fed its own forecasts) or ``direct`` (H at once),
and the way back from the modelled series to levels."""
from __future__ import annotations

import logging
import time

import numpy as np
import torch

from lstm_forecast.model.network import LSTMForecaster
from lstm_forecast.model.progress import PROGRESS_SECONDS
from lstm_forecast.parallel import run_all
from lstm_forecast.prep.windows import Windows

log = logging.getLogger(__name__)

# Windows per forward pass when forecasting: bounds memory on long series.
FORECAST_CHUNK = 4096
# Windows per task when a forecast is spread over the workers: small enough that the blocks share out evenly.
TASK_WINDOWS = 64


def forecast(model: LSTMForecaster, windows: Windows, horizon: int, strategy: str,
             spread: bool = False) -> torch.Tensor:
    """Scaled forecasts of the ``horizon`` values after each window: (len(windows), horizon).

    ``direct``: the model's last step outputs all ``horizon`` values at once. ``recursive``: the model
    forecasts one step, that forecast is appended to the inputs (the oldest input drops out), and so on.
    Either way only the window's inputs are read: never a value at or after its first future index (calendar
    inputs, known in advance, excepted). Windows scaled by their own statistics are forecast in that scale
    and mapped back with the same statistics.

    With ``spread`` (the backtests: many windows, called once), blocks of TASK_WINDOWS windows are tasks for
    the workers on the CPU (lstm_forecast.parallel): a window's forecast is the same bits in a batch of any
    size (tests/test_parallel.py), so they change nothing. Not for a call made every epoch (validation):
    starting the workers would cost more than it saves.
    """
    n = len(windows)
    blocks = [(model, windows, horizon, strategy, lo, min(lo + TASK_WINDOWS, n)) for lo in range(0, n, TASK_WINDOWS)]
    on_cpu = next(model.parameters()).device.type == "cpu"
    parts = run_all(_forecast_block, blocks) if spread and on_cpu else [_forecast_block(block) for block in blocks]
    return torch.cat(parts) if parts else torch.empty(0, horizon)


def _forecast_block(task: tuple) -> torch.Tensor:
    """``forecast`` of windows ``lo .. hi - 1``, FORECAST_CHUNK at a time."""
    model, windows, horizon, strategy, lo, hi = task
    out = []
    with torch.inference_mode():
        for start in range(lo, hi, FORECAST_CHUNK):
            positions = torch.arange(start, min(start + FORECAST_CHUNK, hi))
            x = windows.inputs(positions)  # (T, B, input_size)
            # clone(): a slice of the (T, B, out) output would keep the whole output alive until the end.
            if strategy == "direct":
                scaled = model.forward_time_major(x)[-1, :, :horizon].clone()
            else:
                scaled = _recursive(model, windows, positions, x, horizon)
            out.append(windows.unscale(scaled, positions))
    return torch.cat(out)


def _recursive(model: LSTMForecaster, windows: Windows, positions: torch.Tensor, x: torch.Tensor,
               horizon: int) -> torch.Tensor:
    """One step at a time, each forecast appended to the inputs with the calendar inputs of its own index. (B, H)"""
    origins = windows.origins[positions.to(windows.origins.device)]
    steps = []
    started = last = time.perf_counter()
    for i in range(horizon):
        step = model.forward_time_major(x)[-1, :, :1].clone()  # (B, 1): the value at origin + i
        steps.append(step)
        now = time.perf_counter()
        if now - last >= PROGRESS_SECONDS and i + 1 < horizon:  # a long recursive forecast (the forecast stage's)
            last = now
            log.info("step %d of %d from %d origins, about %.0f s left", i + 1, horizon, len(positions),
                     (now - started) / (i + 1) * (horizon - i - 1))
        if i + 1 < horizon:
            features = windows.features_at(origins + i)
            new = step if features is None else torch.cat([step, features], dim=1)
            x = torch.cat([x[1:], new.unsqueeze(0)], dim=0)
    return torch.cat(steps, dim=1)


def forecast_mse(model: LSTMForecaster, windows: Windows, strategy: str) -> float:
    """Mean squared error of the ``windows.horizon``-step forecasts over ``windows``: the validation loss."""
    return float(((forecast(model, windows, windows.horizon, strategy) - windows.future()) ** 2).mean())


def to_levels(modelled: np.ndarray, values: np.ndarray, origins: np.ndarray, difference: bool) -> np.ndarray:
    """Forecasts of the modelled series (unscaled), (n, H), as levels: with differencing, the forecast
    changes are summed onto the last observed value ``values[t - 1]``."""
    if not difference:
        return modelled
    return values[origins - 1][:, None] + np.cumsum(modelled, axis=1)
