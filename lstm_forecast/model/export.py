"""The forecasting network as an ONNX graph, and the constants that turn observations into its input and its
output back into values, so that the model runs in onnxruntime without torch or this project (docs/export.md)."""
from __future__ import annotations

import dataclasses
import io
import os
import warnings
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lstm_forecast.data.artifacts import CheckpointMeta, Normalization
from lstm_forecast.errors import ArgumentError
from lstm_forecast.data.files import atomic_path
from lstm_forecast.model.network import Ensemble, LSTMForecaster
from lstm_forecast.prep.windows import MIN_WINDOW_SPREAD

if TYPE_CHECKING:
    from google.protobuf.message import Message

# Fixed, so that a newer exporter default does not change the file; onnxruntime 1.15 and later run opset 18.
OPSET = 18
INPUT = "window"
OUTPUT = "output"

# features.py's phase of each calendar cycle, in [0, 1), said so that it can be coded without pandas.
PHASES = {
    "month": "(month - 1) / 12, month 1..12",
    "quarter": "(quarter - 1) / 4, quarter 1..4 (January-March is 1)",
    "dayofweek": "dayofweek / 7, Monday 0 .. Sunday 6",
    "dayofyear": "(dayofyear - 1) / (366 in a leap year, else 365), dayofyear 1 on 1 January",
    "hour": "(hour + minute / 60) / 24, the stamp's local wall time",
}


def export_onnx(model: Ensemble | LSTMForecaster, time_step: int, path: str | os.PathLike) -> None:
    """Write ``onnx_bytes(model, time_step)`` to ``path``."""
    graph = onnx_bytes(model, time_step)
    with atomic_path(path) as tmp:
        tmp.write_bytes(graph)


def onnx_bytes(model: Ensemble | LSTMForecaster, time_step: int) -> bytes:
    """``model``'s graph as ONNX (opset OPSET); the same weights give the same bytes.

    Input ``window``: float32 (batch, time_step, input_size), the scaled value first, then the calendar
    columns. Output ``output``: float32 (batch, time_step, output_size), the (median) output after every
    step, as ``model(window)`` returns it. The batch is dynamic; time_step is fixed, as the highway's lags
    and the training windows were.
    """
    import onnx  # an extra (pip install .[export]): the library imports without it

    if isinstance(model, LSTMForecaster):
        model = Ensemble([model])
    if not isinstance(time_step, int) or time_step < 1:
        raise ArgumentError("time_step", time_step, "should be a whole number of steps, at least 1")
    traceable = _traceable(model)
    example = torch.zeros(2, time_step, model.config.input_size)
    buffer = io.BytesIO()
    # The TorchScript exporter: a fraction of a second, where torch.export + onnxscript take a minute and more
    # for a window of 192 steps. Its deprecation and shape-inference warnings are about itself, not the model.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(traceable, (example,), buffer, dynamo=False, opset_version=OPSET, input_names=[INPUT],
                          output_names=[OUTPUT], dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}})
    proto = onnx.load_from_string(buffer.getvalue())
    # The exporter's shape inference loses the output's fixed sizes at the members' sort: state them.
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    dims[1].dim_value, dims[2].dim_value = time_step, model.config.output_size
    _strip(proto)
    return proto.SerializeToString(deterministic=True)


class _Exportable(LSTMForecaster):
    """The same function, with the highway computed by the Conv1d it holds: the batch-major lag product
    (LSTMForecaster._add_highway) unfolds the window, which the exporter cannot take with a dynamic batch."""

    def _add_highway(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not self.config.highway:
            return y
        padded = nn.functional.pad(x[..., 0].T.unsqueeze(1), (self.config.highway - 1, 0))  # (B, 1, lags - 1 + T)
        return y + self.highway(padded).permute(2, 0, 1)  # (B, out, T) -> (T, B, out)


def _traceable(model: Ensemble) -> Ensemble:
    """A CPU copy of ``model`` in eval mode on torch's LSTM, highway as a convolution: lstm_cpu.c's kernel is
    a C call that no exporter can trace, and computes the same function."""
    config = dataclasses.replace(model.config, lstm_kernel="torch")
    # The copy's random initial weights are overwritten at once; they must not move the caller's random stream.
    with torch.random.fork_rng(devices=[]):
        copy = Ensemble([_Exportable(config) for _ in model.members])
    copy.load_state_dict(model.state_dict())
    return copy.eval()


def _strip(message: Message) -> None:
    """Clear every doc string and metadata entry, recursively: the exporter records stack traces (absolute
    paths of this checkout) and symbol ranges that depend on what the process exported before."""
    from google.protobuf.descriptor import FieldDescriptor  # onnx's dependency: imported with it, not before
    for field, value in message.ListFields():
        if field.name in ("doc_string", "metadata_props"):
            message.ClearField(field.name)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value if field.is_repeated else [value]:
                _strip(item)


def onnx_constants(meta: CheckpointMeta, norm: Normalization, freq: str | None, extra: dict[str, Any]) -> dict:
    """Plain-JSON description of what the ONNX graph reads and returns: how to build ``window`` from the last
    observations and their time stamps, and how to turn ``output`` back into values. ``extra`` is merged in
    (its keys must be new)."""
    columns = ["value"] + [f"{name}_{f}" for name in meta.calendar for f in ("sin", "cos")]
    spec = {
        "input_name": INPUT,
        "output_name": OUTPUT,
        "opset": OPSET,
        "time_step": meta.time_step,
        # With differencing, time_step changes need one observation more.
        "observations": meta.time_step + int(norm.difference),
        "inputs": columns,
        "calendar": list(meta.calendar),
        "calendar_phase": {name: PHASES[name] for name in meta.calendar},
        "calendar_columns": "for each name of calendar, in order: sin(2 * pi * phase), cos(2 * pi * phase) of "
                            "the time stamp of the row's observation",
        "scaler": norm.scaler.to_json(),
        "scaling": _scaling(norm.scaler.to_json()),
        "difference": norm.difference,
        "clip": None if norm.clip is None else list(norm.clip),
        "modelled": ("the one-step changes y[t] - y[t-1] of the observations: forecasts are changes, summed onto "
                     "the last observation" if norm.difference else "the observations themselves"),
        "scale_windows": meta.scale_windows,
        "min_window_spread": MIN_WINDOW_SPREAD,
        "window_scaling": (
            "with scale_windows, the value column is scaled again: centre = its last entry, spread = its "
            "population standard deviation, at least min_window_spread; column = (column - centre) / spread, and "
            "the output maps back as output * spread + centre" if meta.scale_windows else "none"),
        "strategy": meta.strategy,
        "target": meta.target,
        "horizon": meta.horizon,
        "read": _read(meta),
        "freq": freq,
    }
    clash = sorted(set(extra) & set(spec))
    if clash:
        raise ValueError(f"extra keys {clash} would overwrite the model's own constants")
    return {**spec, **extra}


def _scaling(scaler: dict[str, Any]) -> str:
    if "mean" in scaler:
        return "scaled = (x - mean) / std; x = scaled * std + mean"
    return "scaled = (x - min) / (max - min); x = scaled * (max - min) + min"


def _read(meta: CheckpointMeta) -> dict[str, Any]:
    """Which entries of ``output`` (batch, time_step, output_size) are the forecasts."""
    if meta.strategy == "direct":
        return {"step": -1, "columns": list(range(meta.horizon)),
                "meaning": f"output[:, -1, :{meta.horizon}]: the next {meta.horizon} values of the modelled series, "
                           "scaled"}
    return {"step": -1, "columns": [0],
            "meaning": "output[:, -1, 0]: the next value of the modelled series, scaled; for more steps append "
                       "it as it is, with its stamp's calendar columns, to the window, drop the oldest row, and "
                       "run again"}

