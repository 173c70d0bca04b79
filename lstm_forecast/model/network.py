"""The reference model: a linear input projection, a stacked LSTM and a linear output."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lstm_forecast.model import lstm_cpu
from lstm_forecast.errors import ArgumentError


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
    # Lags of a linear autoregression on the value input added to the output at every step (a highway, as in
    # LSTNet); 0: none, the reference model.
    highway: int = 0

    def __post_init__(self) -> None:
        if self.lstm_kernel not in ("c", "torch"):
            raise ValueError(f"lstm_kernel={self.lstm_kernel!r} is not 'c' or 'torch'")


def resolve_device(device: str) -> torch.device:
    """``auto``: CUDA when a GPU is present, else CPU; ``cuda`` without a GPU is an ArgumentError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ArgumentError("device", device, "no CUDA GPU is available; use 'auto' or 'cpu'")
    return torch.device(device)


def build_lstm(input_size: int, hidden_size: int, num_layers: int, dropout: float = 0.0) -> nn.LSTM:
    """The recurrent core. Layer l's gate weights, in TensorFlow 1's layout, are
    ``cat([weight_ih_l, weight_hh_l], dim=1).T``: shape [input + hidden, 4 * hidden]."""
    # nn.LSTM applies dropout between layers only, and warns when there is one layer.
    return nn.LSTM(input_size, hidden_size, num_layers,
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
        self.lstm = build_lstm(config.hidden_size, config.hidden_size, config.num_layers, config.dropout)
        self.head = nn.Linear(config.hidden_size, config.output_size)
        if config.highway:
            self.highway = nn.Conv1d(1, config.output_size, config.highway)

    def _add_highway(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """y (T, B, out) plus the autoregression on the last ``highway`` values of x[..., 0] up to each step
        (zeros before the window's first)."""
        if not self.config.highway:
            return y
        padded = nn.functional.pad(x[..., 0].T, (self.config.highway - 1, 0))  # (B, highway - 1 + T)
        lags = padded.unfold(1, self.config.highway, 1)  # (B, T, highway): a view, lag order oldest first
        # What Conv1d computes, as one matrix product in batch-major order: twice as fast on the CPU as the
        # time-major one (bench: 1.0 against 2.3 ms per training step of 32 windows of 192).
        weight = self.highway.weight[:, 0, :]  # (out, highway)
        return y + (lags @ weight.T + self.highway.bias).transpose(0, 1)

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
            return self._add_highway(x, self.head(lstm_cpu.stacked_lstm(z, lstm._flat_weights, lstm.num_layers)))
        # Two zero states, not one tensor twice: oneDNN's backward copies the cell state when they share storage.
        h0 = z.new_zeros(lstm.num_layers, z.shape[1], lstm.hidden_size)
        c0 = torch.zeros_like(h0)
        # The op nn.LSTM.forward calls, without that method's per-call Python checks (a measurable share of
        # a small step on CPU). nn.LSTM keeps _flat_weights, its parameters in this op's order, current through
        # .to() and reassignment (torch is pinned; a test compares this path with nn.LSTM.forward).
        h, _, _ = torch.lstm(z, (h0, c0), lstm._flat_weights, True, lstm.num_layers, lstm.dropout,
                             self.training, False, False)
        return self._add_highway(x, self.head(h))


class Ensemble(nn.Module):
    """Members of one config trained from consecutive seeds; its output is the median of theirs at every step
    (the mean of the two middle ones for an even count). One member is that member, bit for bit."""

    def __init__(self, members: list[LSTMForecaster]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.config = members[0].config
        self.members = nn.ModuleList(members)

    @classmethod
    def build(cls, config: ModelConfig, size: int) -> Ensemble:
        return cls([LSTMForecaster(config) for _ in range(size)])

    def kernels(self, device: torch.device) -> dict[str, str]:
        return self.members[0].kernels(device)

    def prepare_kernels(self, device: torch.device) -> str:
        return self.members[0].prepare_kernels(device)

    def uses_c_kernel(self, x: torch.Tensor) -> bool:
        return self.members[0].uses_c_kernel(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_time_major(x.transpose(0, 1)).transpose(0, 1)

    def member_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """x (time, batch, input_size) -> (members, time, batch, output_size)."""
        return torch.stack([member.forward_time_major(x) for member in self.members])

    def forward_time_major(self, x: torch.Tensor) -> torch.Tensor:
        """x (time, batch, input_size) -> the members' median, (time, batch, output_size)."""
        if len(self.members) == 1:
            return self.members[0].forward_time_major(x)
        ordered = self.member_outputs(x).sort(dim=0).values
        middle = len(self.members) // 2
        if len(self.members) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2
