"""The reference model (linear input projection, stacked LSTM, linear output) and its checkpoint format."""
from __future__ import annotations

import os
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pipeline import lstm_cpu
from pipeline.errors import UserError
from pipeline.files import atomic_path
from pipeline.window import Windows

RETRAIN = "retrain it (dvc repro --force -s train)"
# Windows per forward pass when forecasting: bounds memory on long series.
FORECAST_CHUNK = 4096


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; saved inside each checkpoint."""

    hidden_size: int = 8
    num_layers: int = 2
    dropout: float = 0.0
    input_size: int = 1
    output_size: int = 1
    # c: lstm_cpu.c's kernel where it applies (CPU, hidden <= 16, no dropout); torch: torch's LSTM always.
    lstm_kernel: str = "c"

    def __post_init__(self) -> None:
        if self.lstm_kernel not in ("c", "torch"):
            raise ValueError(f"lstm_kernel={self.lstm_kernel!r} is not 'c' or 'torch'")


def resolve_device(name: str, key: str) -> torch.device:
    """``auto``: CUDA when a GPU is present, else CPU; ``cuda`` without a GPU is the user's error (``key`` names
    the param)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError(f"{key}='cuda' but no CUDA GPU is available; use 'auto' or 'cpu'")
    return torch.device(name)


def build_lstm(input_size: int, hidden_size: int, num_layers: int, dropout: float = 0.0,
               batch_first: bool = True) -> nn.LSTM:
    """The recurrent core. Layer l's gate weights, in TensorFlow 1's layout, are
    ``cat([weight_ih_l, weight_hh_l], dim=1).T``: shape [input + hidden, 4 * hidden]."""
    # nn.LSTM applies dropout between layers only, and warns when there is one layer.
    return nn.LSTM(input_size, hidden_size, num_layers, batch_first=batch_first,
                   dropout=dropout if num_layers > 1 else 0.0)


class LSTMForecaster(nn.Module):
    """x (batch, time, input_size) -> projection -> LSTM -> linear -> y (batch, time, output_size).

    Training and forecasting call ``forward_time_major``, which takes and returns (time, batch, features):
    the layout the LSTM kernels (lstm_cpu.c or oneDNN on CPU, cuDNN on CUDA) work in, so no transposed
    copies are made on the way in or out.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.project = nn.Linear(config.input_size, config.hidden_size)
        self.lstm = build_lstm(config.hidden_size, config.hidden_size, config.num_layers, config.dropout,
                               batch_first=False)
        self.head = nn.Linear(config.hidden_size, config.output_size)

    def uses_c_kernel(self, x: torch.Tensor) -> bool:
        """Whether the LSTM runs on lstm_cpu.c's kernel for inputs like ``x``, rather than torch's."""
        return self._c_kernel_for(x, self.training)

    def _c_kernel_for(self, x: torch.Tensor, training: bool) -> bool:
        dropout_active = training and self.lstm.dropout > 0
        return self.config.lstm_kernel == "c" and lstm_cpu.applies(x, self.lstm.hidden_size, dropout_active)

    def kernels(self, device: torch.device) -> dict[str, str]:
        """Which LSTM kernel runs on ``device`` when training (dropout active) and when forecasting."""
        probe = torch.empty(1, 1, self.config.hidden_size, device=device)
        torch_name = "torch (cuDNN)" if device.type == "cuda" else "torch (oneDNN)"
        return {mode: "lstm_cpu.c" if self._c_kernel_for(probe, mode == "training") else torch_name
                for mode in ("training", "forecasting")}

    def prepare_kernels(self, device: torch.device) -> str:
        """Build lstm_cpu.c's kernel now if it will run on ``device``, so that a machine that cannot build it
        fails before the first epoch, not at the first validation; return the kernels used, for the log."""
        names = self.kernels(device)
        if "lstm_cpu.c" in names.values():
            lstm_cpu.prepare(self.config.hidden_size, self.config.hidden_size)
        if names["training"] == names["forecasting"]:
            return names["training"]
        return f"{names['training']} for training, {names['forecasting']} for forecasting"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_time_major(x.transpose(0, 1)).transpose(0, 1)

    def forward_time_major(self, x: torch.Tensor) -> torch.Tensor:
        """x (time, batch, input_size) -> y (time, batch, output_size)."""
        z = self.project(x)
        lstm = self.lstm
        if self.uses_c_kernel(z):
            return self.head(lstm_cpu.stacked_lstm(z, lstm._flat_weights, lstm.num_layers))
        # Two zero states, not one tensor twice: oneDNN's backward copies the cell state when they share storage.
        h0 = z.new_zeros(lstm.num_layers, z.shape[1], lstm.hidden_size)
        c0 = torch.zeros_like(h0)
        # The op nn.LSTM.forward calls, without that method's per-call Python checks (a tenth of a batch-7
        # step on CPU). nn.LSTM keeps _flat_weights, its parameters in this op's order, current through
        # .to() and reassignment (torch is pinned; a test compares this path with nn.LSTM.forward).
        h, _, _ = torch.lstm(z, (h0, c0), lstm._flat_weights, True, lstm.num_layers, lstm.dropout,
                             self.training, False, False)
        return self.head(h)


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


def save_checkpoint(path: str | os.PathLike, model: LSTMForecaster, extra: dict[str, Any]) -> None:
    """Save the state dict with the config that rebuilds it (plain types only, so weights_only loading works)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"config": asdict(model.config), "state_dict": state, **extra}, tmp)


def load_checkpoint(path: str | os.PathLike) -> tuple[LSTMForecaster, dict[str, Any]]:
    """Rebuild the model a checkpoint describes. ``weights_only=True``: unpickling runs no code from the file."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: checkpoint not found (run the train stage first: dvc repro)")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict):
            raise TypeError(f"it holds a {type(ckpt).__name__}, not a dict with config and state_dict")
        # Checkpoints from before lstm_kernel existed were trained on torch's LSTM.
        config = ModelConfig(**{"lstm_kernel": "torch", **ckpt["config"]})
        state = ckpt["state_dict"]
        model = LSTMForecaster(config)
    except (pickle.UnpicklingError, RuntimeError, KeyError, TypeError, EOFError, ValueError, AttributeError,
            OSError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{p}: not a checkpoint of this model ({msg}); {RETRAIN}") from None
    problems = _state_mismatch(model.state_dict(), state)
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        raise UserError(
            f"{p}: its weights do not fit the model its config describes (hidden_size={config.hidden_size}, "
            f"num_layers={config.num_layers}, output_size={config.output_size}): {'; '.join(problems[:2])}{more}; "
            f"{RETRAIN}"
        )
    model.load_state_dict(state)
    model.eval()
    return model, ckpt


def _state_mismatch(expected: dict[str, torch.Tensor], found: Any) -> list[str]:
    """What keeps ``found`` from loading into a model whose state dict is ``expected``, one phrase each."""
    if not isinstance(found, dict) or not all(isinstance(v, torch.Tensor) for v in found.values()):
        return ["the state dict is not a mapping of tensors"]
    problems = [f"{k} is missing" for k in expected if k not in found]
    problems += [f"{k} is unexpected" for k in found if k not in expected]
    problems += [
        f"{k} is {list(found[k].shape)} in the file, {list(v.shape)} expected"
        for k, v in expected.items() if k in found and found[k].shape != v.shape
    ]
    return problems
