"""lstm_forecast/model/export.py: the ONNX graph against the torch model, its bytes, model.json, and docs/export.md's
usage code run as it stands against the pipeline's own forecast."""
import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import torch

from lstm_forecast.data.artifacts import CheckpointMeta, Normalization, WindowIndex
from lstm_forecast.errors import ArgumentError
from lstm_forecast.model.export import PHASES, export_onnx, onnx_constants
from lstm_forecast.prep.features import CALENDAR, calendar_features
from lstm_forecast.data.files import write_json
from lstm_forecast.model.forecasting import forecast, to_levels
from lstm_forecast.model.network import Ensemble, ModelConfig
from lstm_forecast.prep.scaling import Scaler
from lstm_forecast.prep.splits import scale_series, split_bounds
from lstm_forecast.prep.windows import series_tensors, split_windows
from tests.helpers import ROOT

TIME_STEP = 12


def small_model(members: int, input_size: int, output_size: int, highway: int, seed: int = 0) -> Ensemble:
    """Random weights, lstm_cpu.c's kernel in the config: export has to rebuild it on torch's LSTM."""
    torch.manual_seed(seed)
    config = ModelConfig(hidden_size=8, num_layers=2, input_size=input_size, output_size=output_size,
                         lstm_kernel="c", highway=highway)
    return Ensemble.build(config, members).eval()


CASES = {
    "one member": dict(members=1, input_size=1, output_size=1, highway=0),
    "3 members, highway, calendar": dict(members=3, input_size=3, output_size=1, highway=TIME_STEP),
    "direct, 2 members, highway": dict(members=2, input_size=1, output_size=4, highway=5),
}


@pytest.mark.parametrize("case", CASES)
def test_onnxruntime_gives_the_torch_models_output(in_tmp, case):
    model = small_model(**CASES[case])
    export_onnx(model, TIME_STEP, "models/model.onnx")
    onnx.checker.check_model("models/model.onnx")
    session = ort.InferenceSession("models/model.onnx")
    [window], [output] = session.get_inputs(), session.get_outputs()
    config = model.config
    assert (window.name, window.shape) == ("window", ["batch", TIME_STEP, config.input_size])
    assert (output.name, output.shape) == ("output", ["batch", TIME_STEP, config.output_size])
    assert model.config.lstm_kernel == "c"  # the model itself is left as it was
    rng = np.random.default_rng(1)
    for batch in (1, 5):  # the graph was traced with a batch of 2
        x = rng.normal(size=(batch, TIME_STEP, config.input_size)).astype(np.float32)
        with torch.inference_mode():
            expected = model(torch.from_numpy(x)).numpy()
        assert model.uses_c_kernel(torch.from_numpy(x))
        got = session.run(["output"], {"window": x})[0]
        assert got.shape == (batch, TIME_STEP, config.output_size)
        assert np.abs(got - expected).max() < 1e-5


def test_exporting_twice_gives_the_same_bytes_and_leaves_the_random_stream_alone(in_tmp):
    model = small_model(members=3, input_size=3, output_size=1, highway=TIME_STEP)
    state = torch.get_rng_state()
    export_onnx(model, TIME_STEP, "models/a.onnx")
    export_onnx(model, TIME_STEP, "models/b.onnx")
    assert torch.equal(torch.get_rng_state(), state)
    first = (in_tmp / "models/a.onnx").read_bytes()
    assert first == (in_tmp / "models/b.onnx").read_bytes()
    assert b"lstm_forecast" not in first and str(ROOT).encode() not in first  # no stack traces, no paths
    assert sorted(p.name for p in (in_tmp / "models").iterdir()) == ["a.onnx", "b.onnx"]  # no temporary left


def test_export_rejects_a_time_step_below_one(in_tmp):
    with pytest.raises(ArgumentError, match=r"time_step=0: should be a whole number of steps, at least 1"):
        export_onnx(small_model(1, 1, 1, 0), 0, "models/model.onnx")
    assert not (in_tmp / "models").exists()


def test_onnx_constants_describe_the_window_and_the_output():
    meta = CheckpointMeta(best_epochs=(3,), time_step=24, target="sequence", horizon=1, strategy="recursive",
                          calendar=("month", "dayofweek"))
    norm = Normalization(100, {"train": (0, 60), "val": (60, 80), "test": (80, 100)}, Scaler("zscore", 10.0, 2.0),
                         difference=True)
    spec = onnx_constants(meta, norm, "MS", {"bands": [0.9]})
    assert spec["inputs"] == ["value", "month_sin", "month_cos", "dayofweek_sin", "dayofweek_cos"]
    assert (spec["time_step"], spec["observations"], spec["difference"]) == (24, 25, True)
    assert spec["scaler"] == {"method": "zscore", "mean": 10.0, "std": 2.0}
    assert spec["calendar_phase"] == {"month": PHASES["month"], "dayofweek": PHASES["dayofweek"]}
    assert spec["read"]["step"] == -1 and spec["read"]["columns"] == [0]
    assert (spec["freq"], spec["bands"], spec["scale_windows"], spec["window_scaling"]) == ("MS", [0.9], False, "none")
    direct = onnx_constants(CheckpointMeta((3,), 24, "sequence", 3, "direct", scale_windows=True), norm, None, {})
    assert direct["read"]["columns"] == [0, 1, 2] and direct["inputs"] == ["value"]
    assert direct["scale_windows"] and "last entry" in direct["window_scaling"]
    json.dumps(spec, allow_nan=False)  # plain JSON
    with pytest.raises(ValueError, match=r"extra keys \['scaler'\] would overwrite"):
        onnx_constants(meta, norm, "MS", {"scaler": None})


def test_every_calendar_feature_has_its_phase_formula():
    assert set(PHASES) == set(CALENDAR)


def doc_blocks() -> list[str]:
    """docs/export.md's Python blocks: the calendar phases, then the forecast."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "export.md").read_text(), re.S)
    assert len(blocks) == 2
    return blocks


def test_the_docs_use_numpy_onnxruntime_and_json_only():
    imported = {m for block in doc_blocks() for m in re.findall(r"^\s*(?:import|from)\s+(\w+)", block, re.M)}
    assert imported == {"json", "numpy", "onnxruntime"}


def test_the_docs_calendar_phases_are_features_py():
    names = tuple(CALENDAR)
    times = pd.Series(pd.date_range("2023-12-30", "2025-01-03", freq="53min"))  # 2024: a leap year
    phase_of = {}
    exec(doc_blocks()[0], phase_of)
    angles = 2 * np.pi * np.array([[phase_of["PHASE"][n](t) for n in names] for t in times])
    expected = calendar_features(times, names)
    got = np.stack([np.sin(angles), np.cos(angles)], axis=2).reshape(len(times), -1)
    assert np.abs(got - expected).max() < 1e-6


DOC_CASES = {
    "changes, calendar": dict(method="zscore", difference=True, calendar=("month",), strategy="recursive",
                              horizon=1),
    "window scaling, two calendar features": dict(method="window", difference=False, calendar=("quarter", "month"),
                                                  strategy="recursive", horizon=1),
    "min-max, direct": dict(method="minmax", difference=False, calendar=(), strategy="direct", horizon=3),
}


@pytest.mark.parametrize("case", DOC_CASES)
def test_the_docs_code_gives_the_pipelines_forecast(in_tmp, case):
    c = DOC_CASES[case]
    n, horizon = 90, c["horizon"]
    rng = np.random.default_rng(2)
    t = np.arange(n)
    series = pd.DataFrame({"time": pd.date_range("2001-01-01", periods=n, freq="MS"),
                           "value": 20 + 0.1 * t + 4 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)})
    frame, norm = scale_series(series, split_bounds(n, (0.6, 0.2, 0.2)), c["method"], c["difference"])
    # The last origin whose horizon is in the series: the docs' code gets the observations before it.
    origin = n - horizon
    index = WindowIndex(TIME_STEP, "sequence", horizon, {"train": (TIME_STEP, 54), "val": (54, 72),
                                                         "test": (origin, origin + 1)},
                        norm.scale_windows, c["calendar"])
    outputs = horizon if c["strategy"] == "direct" else 1
    model = small_model(members=3, input_size=1 + 2 * len(c["calendar"]), output_size=outputs, highway=TIME_STEP)
    meta = CheckpointMeta((1, 1, 1), TIME_STEP, "sequence", horizon, c["strategy"], norm.scale_windows,
                          c["calendar"])

    # The pipeline's own forecast, as lstm_forecast/evaluation/backtest.py makes it.
    tensor, features = series_tensors(frame, index)
    windows = split_windows(tensor, features, index, "test", "last", horizon)
    scaled = forecast(model, windows, horizon, c["strategy"]).double().numpy()
    values = series["value"].to_numpy()
    expected = to_levels(norm.scaler.inverse(scaled), values, np.array([origin]), norm.difference)[0, 0]

    export_onnx(model, TIME_STEP, "models/model.onnx")
    write_json("models/model.json", onnx_constants(meta, norm, "MS", {}))
    namespace = {"values": list(values[:origin]), "stamps": list(series["time"][:origin])}
    for block in doc_blocks():
        exec(block, namespace)
    assert abs(namespace["forecast"] - expected) < 1e-5
