"""The C kernel of lstm_forecast/model/lstm_cpu.c against torch's LSTM: values, gradients, determinism, the build."""
import ctypes
import platform
import re
import shutil

import pytest
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from lstm_forecast.model import lstm_cpu
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.model.network import LSTMForecaster, ModelConfig
from lstm_forecast.model.members import fit
from lstm_forecast.model.training import FitSettings
from pipeline.train import main as train_main
from lstm_forecast.prep.windows import Windows
from tests.helpers import reference_training, run_stages, stage_argv


def run_both(lstm: nn.LSTM, x: torch.Tensor, dout: torch.Tensor):
    """Output and gradients (x, then every weight) of nn.LSTM and of the kernel, for the same upstream gradient."""
    x = x.detach().requires_grad_()
    weights = lstm._flat_weights
    expected = lstm(x)[0]
    ours = lstm_cpu.stacked_lstm(x, weights, lstm.num_layers)
    return ([expected.detach(), *torch.autograd.grad(expected, [x, *weights], dout)],
            [ours.detach(), *torch.autograd.grad(ours, [x, *weights], dout)])


@pytest.mark.parametrize("seq, batch, inputs, hidden, layers", [
    (96, 7, 8, 8, 2),  # the reference size
    (5, 3, 2, 4, 1),   # input size differs from the hidden size
    (7, 2, 1, 5, 3),   # three layers, odd sizes
    (1, 1, 3, 16, 2),  # one step: no recurrence
    (5, 130, 3, 8, 2),  # more rows than a 64-row tile, and a partial last tile
    (4, 7, 20, 4, 2),  # input size larger than the hidden size
])
def test_values_and_gradients_match_torch_in_double(seq, batch, inputs, hidden, layers):
    torch.manual_seed(0)
    lstm = nn.LSTM(inputs, hidden, layers).double()
    x = torch.randn(seq, batch, inputs, dtype=torch.float64)
    expected, ours = run_both(lstm, x, torch.randn(seq, batch, hidden, dtype=torch.float64))
    for name, a, b in zip(["output", "x", *(n for n, _ in lstm.named_parameters())], expected, ours):
        torch.testing.assert_close(b, a, rtol=1e-11, atol=1e-12, msg=name)


def test_gradcheck_in_double():
    torch.manual_seed(1)
    lstm = nn.LSTM(2, 3, 2).double()
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    weights = [w.detach().clone().requires_grad_() for w in lstm._flat_weights]
    assert torch.autograd.gradcheck(lambda x, *w: lstm_cpu.stacked_lstm(x, list(w), 2), (x, *weights))


@pytest.mark.parametrize("scale", [1.0, 30.0])  # 30: the gates saturate, exp's inputs reach its clamp
def test_float32_is_as_accurate_as_torch(scale):
    # Both float32 results against torch in double: the kernel's own exp and tanh must not cost accuracy.
    torch.manual_seed(2)
    lstm = nn.LSTM(8, 8, 2)
    with torch.no_grad():
        for w in lstm.parameters():
            w.mul_(scale)
    x = torch.randn(96, 7, 8)
    dout = torch.randn(96, 7, 8)
    torch_f32, ours_f32 = run_both(lstm, x, dout)
    reference, _ = run_both(lstm.double(), x.double(), dout.double())
    names = ["output", "x", *(name for name, _ in lstm.named_parameters())]
    assert len(names) == len(reference) == 10
    for name, exact, theirs, ours in zip(names, reference, torch_f32, ours_f32):
        assert torch.isfinite(ours).all(), name
        ours_err = (ours.double() - exact).abs().max().item()
        torch_err = (theirs.double() - exact).abs().max().item()
        size = exact.abs().max().item()
        assert ours_err <= 4 * torch_err + 1e-6 * size, (name, ours_err, torch_err)


def test_exp_is_within_two_ulp_of_the_exact_value():
    # The kernel's own exp, on 200,001 points of the range it takes, against exp in double.
    x = torch.linspace(-87, 88, 200_001)
    out = torch.empty_like(x)
    lstm_cpu._load(1, 1).lstm_exp_f32(len(x), ctypes.c_void_p(x.data_ptr()), ctypes.c_void_p(out.data_ptr()))
    exact = x.double().exp()
    ulp = torch.finfo(torch.float32).eps * exact  # the spacing of floats near exact, up to a factor of 2
    assert ((out.double() - exact).abs() / ulp).max() <= 2.0
    edges = torch.tensor([float("nan"), float("inf"), -float("inf")])
    out = torch.empty_like(edges)
    lstm_cpu._load(1, 1).lstm_exp_f32(3, ctypes.c_void_p(edges.data_ptr()), ctypes.c_void_p(out.data_ptr()))
    assert out[0].isnan() and 1e38 < out[1] < float("inf") and 0 < out[2] < 1e-37  # the clamp, then saturation


def test_inference_equals_the_training_forward_bit_for_bit():
    # Validation and evaluate run without autograd (no saved state); training saves every step. Same numbers.
    torch.manual_seed(3)
    lstm = nn.LSTM(8, 8, 2)
    x = torch.randn(50, 130, 8)  # three tiles of rows, the last one partial
    trained = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
    assert trained.requires_grad
    with torch.inference_mode():
        inferred = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
    assert torch.equal(trained.detach(), inferred)
    again = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
    assert torch.equal(again, trained)


def test_without_autograd_no_tensor_is_kept_for_a_backward_pass():
    # Validation and evaluate forecast thousands of windows per call; what a backward pass would read is
    # 7 values per layer, step, window and unit (here 15x the output). Of torch's allocations only the
    # output may remain (the C side's own scratch is a few (batch, hidden) arrays, freed before it returns).
    lstm = nn.LSTM(8, 8, 2)
    x = torch.randn(96, 512, 8)
    for mode in (torch.no_grad, torch.inference_mode):
        with mode(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            out = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
        allocated = sum(e.self_cpu_memory_usage for e in prof.key_averages() if e.self_cpu_memory_usage > 0)
        assert allocated == out.numel() * out.element_size(), mode


# Only meaningful where the machine's own build could differ: x86-64 with fused multiply-add.
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64")
                    or "fma" not in lstm_cpu._cpu_signature().split(),
                    reason="the CPU has no FMA, so both builds are the same")
@pytest.mark.parametrize("target", ["generic", "x86-64-v3"])
def test_results_do_not_depend_on_the_cpu_features_the_build_uses(monkeypatch, tmp_path, target):
    # The default build targets this CPU (-march=native). A build for any x86-64 (SSE2 only), and one for
    # AVX2 (x86-64-v3, what an AVX2-only machine runs), must give the same bits: -ffp-contract=off keeps the
    # compiler from fusing multiply-adds where the CPU has FMA.
    torch.manual_seed(4)
    lstm = nn.LSTM(8, 8, 2)
    x, dout = torch.randn(20, 7, 8), torch.randn(20, 7, 8)
    _, native = run_both(lstm, x, dout)
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if target == "generic":
        monkeypatch.setattr(lstm_cpu.platform, "machine", lambda: "generic")
    else:
        monkeypatch.setenv("LSTM_FORECAST_MARCH", target)
    _, portable = run_both(lstm, x, dout)
    assert len(list((tmp_path / "lstm-forecast").glob("lstm_cpu-*.so"))) == 1  # a build of its own
    assert all(torch.equal(a, b) for a, b in zip(native, portable))


def test_a_build_is_cached_and_reused(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert not isinstance(lstm_cpu._load(6, 6), str)
    (built,) = (tmp_path / "lstm-forecast").iterdir()
    stamp = built.stat().st_mtime_ns
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    assert not isinstance(lstm_cpu._load(6, 6), str)
    assert list((tmp_path / "lstm-forecast").iterdir()) == [built] and built.stat().st_mtime_ns == stamp


def test_a_cache_folder_others_can_write_to_is_not_used(monkeypatch, tmp_path):
    # A library found in the cache is loaded and run: one that another user could have put there is not.
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    shared = tmp_path / "home" / "lstm-forecast"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    monkeypatch.setattr(lstm_cpu.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert not isinstance(lstm_cpu._load(6, 6), str)
    assert not list(shared.iterdir())
    (fallback,) = (tmp_path / "tmp").iterdir()
    assert fallback.name.startswith("lstm-forecast-") and fallback.stat().st_mode & 0o777 == 0o700
    assert len(list(fallback.glob("lstm_cpu-*.so"))) == 1


def test_a_build_that_does_not_load_in_one_folder_is_made_in_the_next(monkeypatch, tmp_path):
    # A cache folder on a noexec mount, say: the library builds there but cannot be loaded.
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(lstm_cpu.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    real_cdll = ctypes.CDLL

    def noexec_home(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path / "home")):
            raise OSError(f"{path}: failed to map segment from shared object")
        return real_cdll(path, *args, **kwargs)

    monkeypatch.setattr(lstm_cpu.ctypes, "CDLL", noexec_home)
    assert not isinstance(lstm_cpu._load(6, 6), str)
    assert not list((tmp_path / "home" / "lstm-forecast").iterdir())  # the temporary build was removed
    assert len(list((tmp_path / "tmp").glob("lstm-forecast-*/lstm_cpu-*.so"))) == 1


def test_cc_that_is_not_a_command_line_is_a_user_error(monkeypatch):
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("CC", 'gcc "')
    with pytest.raises(UserError, match=r"""^\$CC='gcc "' is not a command line \(No closing quotation\); """):
        LSTMForecaster(ModelConfig()).forward_time_major(torch.zeros(3, 2, 1))


def test_cc_may_carry_arguments(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", f"{shutil.which('cc')} -Wall")  # as in CC='ccache gcc'
    assert not isinstance(lstm_cpu._load(6, 6), str)


@pytest.mark.parametrize("compiler, reason", [
    ("/nonexistent/cc", "/nonexistent/cc not found"),
    ("false", "false failed: exit 1"),  # there, but fails
    # "builds" a file that is no library
    ("echo", "cannot open shared object file|invalid ELF header|file too short"),
])
def test_without_a_working_compiler_the_c_kernel_is_a_user_error(monkeypatch, tmp_path, compiler, reason):
    # Falling back to torch's LSTM would change the numbers without a word: the user chooses, in params.yaml.
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", compiler)
    torch.manual_seed(5)
    x = torch.randn(12, 3, 1)
    with pytest.raises(ArgumentError, match=rf"^lstm_kernel='c': lstm_cpu.c \(the small-LSTM kernel\) could not be "
                                            rf"built and loaded with {re.escape(compiler)}: .*({reason}).*; install a "
                                            r"C compiler \(gcc\) or name one in \$CC, or use lstm_kernel 'torch' "
                                            r"and retrain$"):
        LSTMForecaster(ModelConfig()).forward_time_major(x)
    assert not list(tmp_path.rglob("*.so"))  # nothing half-built is cached
    assert LSTMForecaster(ModelConfig(lstm_kernel="torch")).forward_time_major(x).shape == (12, 3, 1)


@pytest.mark.parametrize("dropout", [0.0, 0.2])  # 0.2: training runs torch's LSTM, validation the kernel
def test_a_kernel_that_cannot_be_built_stops_training_before_the_first_batch(monkeypatch, dropout):
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("CC", "/nonexistent/cc")

    def no_batch(*args):
        raise AssertionError("a batch was drawn before the kernel was built")

    monkeypatch.setattr(Windows, "batch", no_batch)
    series = torch.sin(torch.arange(300.0) / 5)
    train, val = Windows(series, (20, 250), 20, "sequence"), Windows(series, (250, 300), 20, "last")
    with pytest.raises(ArgumentError, match="could not be built and loaded"):
        fit(train, val, reference_training(FitSettings, epochs=1, batch_size=8, dropout=dropout), torch.device("cpu"))


def test_train_without_a_compiler_fails_in_one_line(tiny_project, monkeypatch, capsys):
    run_stages(["ingest", "normalize", "window"])
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert train_main(stage_argv("train")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: train.lstm_kernel='c': lstm_cpu.c (the small-LSTM kernel) could not be built and "
                          "loaded")
    assert not (tiny_project / "models").exists() and not (tiny_project / "metrics").exists()


def test_which_lstms_the_kernel_runs():
    x = torch.zeros(4, 2, 8)
    assert lstm_cpu.applies(x, 8, dropout_active=False)
    assert lstm_cpu.applies(x.double(), lstm_cpu.MAX_HIDDEN, dropout_active=False)
    assert not lstm_cpu.applies(x, lstm_cpu.MAX_HIDDEN + 1, dropout_active=False)  # oneDNN is faster there
    assert not lstm_cpu.applies(x, 8, dropout_active=True)  # dropout between layers: torch's LSTM draws the masks
    assert not lstm_cpu.applies(x.half(), 8, dropout_active=False)
    cpu = torch.device("cpu")
    model = LSTMForecaster(ModelConfig(dropout=0.2))
    assert not model.uses_c_kernel(x)
    assert model.kernels(cpu) == {"training": "torch (oneDNN)", "forecasting": "lstm_cpu.c"}  # no dropout then
    assert model.prepare_kernels(cpu) == "torch (oneDNN) for training, lstm_cpu.c for forecasting"
    assert model.training  # left as it was
    model.eval()
    assert model.uses_c_kernel(x)
    assert LSTMForecaster(ModelConfig()).prepare_kernels(cpu) == "lstm_cpu.c"
    assert LSTMForecaster(ModelConfig(hidden_size=32)).prepare_kernels(cpu) == "torch (oneDNN)"
    assert not LSTMForecaster(ModelConfig(lstm_kernel="torch")).uses_c_kernel(x)


def test_arguments_that_are_not_an_lstm_are_refused():
    lstm = nn.LSTM(8, 8, 2)
    with pytest.raises(ValueError, match="are not those of a 2-layer LSTM on the CPU"):
        lstm_cpu.stacked_lstm(torch.zeros(4, 2, 8, dtype=torch.float64), lstm._flat_weights, 2)  # dtypes differ
    with pytest.raises(ValueError, match="are not those of a 3-layer LSTM"):
        lstm_cpu.stacked_lstm(torch.zeros(4, 2, 8), lstm._flat_weights, 3)
    with pytest.raises(ValueError, match="are not those of a 2-layer LSTM"):
        lstm_cpu.stacked_lstm(torch.zeros(4, 2, 5), lstm._flat_weights, 2)  # input size


def test_the_model_trains_on_the_kernel_as_on_torch():
    # A few Adam steps of the whole model, kernel against torch's LSTM: float32 rounding differs, nothing else.
    def train(steps: int, kernel: str) -> tuple[list[float], torch.Tensor]:
        torch.manual_seed(6)
        model = LSTMForecaster(ModelConfig(lstm_kernel=kernel))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.006)
        x = torch.sin(torch.arange(40.0) / 4).reshape(40, 1, 1).repeat(1, 7, 1)
        losses = []
        for _ in range(steps):
            loss = (model.forward_time_major(x[:-1]) - x[1:]).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses, torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    ours, ours_weights = train(50, "c")
    theirs, their_weights = train(50, "torch")
    assert ours[-1] < 0.5 * ours[0]  # it learns
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ours_weights, their_weights, rtol=1e-4, atol=1e-5)
