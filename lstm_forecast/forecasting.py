"""Forecasts from windows: ``recursive`` (a one-step model fed its own forecasts) or ``direct`` (H at once),
and the way back from the modelled series to levels."""
from __future__ import annotations

import numpy as np
import torch

from lstm_forecast.network import LSTMForecaster
from lstm_forecast.windows import Windows

# Windows per forward pass when forecasting: bounds memory on long series.
FORECAST_CHUNK = 4096


def forecast(model: LSTMForecaster, windows: Windows, horizon: int, strategy: str) -> torch.Tensor:
    """Scaled forecasts of the ``horizon`` values after each window: (len(windows), horizon).

    ``direct``: the model's last step outputs all ``horizon`` values at once. ``recursive``: the model
    forecasts one step, that forecast is appended to the inputs (the oldest input drops out), and so on.
    Either way only the window's inputs are read: never a value at or after its first future index.
    """
    out = []
    with torch.inference_mode():
        for start in range(0, len(windows), FORECAST_CHUNK):
            x = windows.inputs(torch.arange(start, min(start + FORECAST_CHUNK, len(windows))))  # (T, B, 1)
            # clone(): a slice of the (T, B, out) output would keep the whole output alive until the end.
            if strategy == "direct":
                out.append(model.forward_time_major(x)[-1, :, :horizon].clone())
                continue
            steps = []
            for _ in range(horizon):
                step = model.forward_time_major(x)[-1, :, :1].clone()  # (B, 1)
                steps.append(step)
                x = torch.cat([x[1:], step.unsqueeze(0)], dim=0)
            out.append(torch.cat(steps, dim=1))
    return torch.cat(out)


def forecast_mse(model: LSTMForecaster, windows: Windows, strategy: str) -> float:
    """Mean squared error of the ``windows.horizon``-step forecasts over ``windows``: the validation loss."""
    return float(((forecast(model, windows, windows.horizon, strategy) - windows.future()) ** 2).mean())


def to_levels(modelled: np.ndarray, values: np.ndarray, origins: np.ndarray, difference: bool) -> np.ndarray:
    """Forecasts of the modelled series (unscaled), (n, H), as levels: with differencing, the forecast
    changes are summed onto the last observed value ``values[t - 1]``."""
    if not difference:
        return modelled
    return values[origins - 1][:, None] + np.cumsum(modelled, axis=1)
