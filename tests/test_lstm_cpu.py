"""The C kernel of pipeline/lstm_cpu.c against torch's LSTM: values, gradients, determinism, and the fallback."""
import ctypes
import logging

import pytest
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from pipeline import lstm_cpu
from pipeline.model import LSTMForecaster, ModelConfig


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
    for name, exact, theirs, ours in zip(["output", "x", "w_ih0", "w_hh0", "b_ih0", "b_hh0"], reference, torch_f32,
                                         ours_f32):
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


def test_inference_equals_the_training_forward_bit_for_bit():
    # Validation and evaluate run without autograd (no saved state); training saves every step. Same numbers.
    torch.manual_seed(3)
    lstm = nn.LSTM(8, 8, 2)
    x = torch.randn(50, 9, 8)
    trained = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
    assert trained.requires_grad
    with torch.inference_mode():
        inferred = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
    assert torch.equal(trained.detach(), inferred)
    again = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
    assert torch.equal(again, trained)


def test_without_autograd_only_the_output_is_allocated():
    # Validation and evaluate forecast thousands of windows per call; what a backward pass would read is
    # 7 values per layer, step, window and unit (here 15x the output). Only the output may be allocated.
    lstm = nn.LSTM(8, 8, 2)
    x = torch.randn(96, 512, 8)
    for mode in (torch.no_grad, torch.inference_mode):
        with mode(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            out = lstm_cpu.stacked_lstm(x, lstm._flat_weights, 2)
        allocated = sum(e.self_cpu_memory_usage for e in prof.key_averages() if e.self_cpu_memory_usage > 0)
        assert allocated == out.numel() * out.element_size(), mode


def test_results_do_not_depend_on_the_cpu_features_the_build_uses(monkeypatch, tmp_path):
    # The default build targets this CPU (-march=native). A build for any x86-64 (SSE2 only) must give the
    # same bits: -ffp-contract=off keeps the compiler from fusing multiply-adds where the CPU has FMA.
    torch.manual_seed(4)
    lstm = nn.LSTM(8, 8, 2)
    x, dout = torch.randn(20, 7, 8), torch.randn(20, 7, 8)
    _, native = run_both(lstm, x, dout)
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(lstm_cpu.platform, "machine", lambda: "generic")
    _, portable = run_both(lstm, x, dout)
    assert len(list((tmp_path / "lstm-forecast").glob("lstm_cpu-*.so"))) == 1  # a build of its own
    assert all(torch.equal(a, b) for a, b in zip(native, portable))


def test_a_build_is_cached_and_reused(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    x = torch.zeros(3, 2, 6)
    assert lstm_cpu.suits(x, 6, dropout_active=False)
    (built,) = (tmp_path / "lstm-forecast").iterdir()
    stamp = built.stat().st_mtime_ns
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    assert lstm_cpu.suits(x, 6, dropout_active=False)
    assert list((tmp_path / "lstm-forecast").iterdir()) == [built] and built.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("compiler", ["/nonexistent/cc", "false"])  # not there; there but failing
def test_without_a_working_compiler_the_model_runs_on_torch_with_one_warning(monkeypatch, tmp_path, caplog,
                                                                             compiler):
    monkeypatch.setattr(lstm_cpu, "_libs", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", compiler)
    torch.manual_seed(5)
    model = LSTMForecaster(ModelConfig())
    x = torch.randn(12, 3, 1)
    with caplog.at_level(logging.WARNING, logger="lstm_cpu"):
        y = model.forward_time_major(x)
        model.forward_time_major(x)
    warnings = [r.getMessage() for r in caplog.records if r.name == "lstm_cpu"]
    assert len(warnings) == 1 and "small LSTMs run on torch's oneDNN kernel" in warnings[0], warnings
    with lstm_cpu.disabled():
        assert torch.equal(y, model.forward_time_major(x))


def test_which_lstms_the_kernel_runs():
    x = torch.zeros(4, 2, 8)
    assert lstm_cpu.suits(x, 8, dropout_active=False)
    assert lstm_cpu.suits(x.double(), lstm_cpu.MAX_HIDDEN, dropout_active=False)
    assert not lstm_cpu.suits(x, lstm_cpu.MAX_HIDDEN + 1, dropout_active=False)  # oneDNN is faster there
    assert not lstm_cpu.suits(x, 8, dropout_active=True)  # dropout between layers: torch's LSTM draws the masks
    assert not lstm_cpu.suits(x.half(), 8, dropout_active=False)
    with lstm_cpu.disabled():
        assert not lstm_cpu.suits(x, 8, dropout_active=False)
    assert lstm_cpu.suits(x, 8, dropout_active=False)


def test_the_model_trains_on_the_kernel_as_on_torch():
    # A few Adam steps of the whole model, kernel against torch's LSTM: float32 rounding differs, nothing else.
    def train(steps: int) -> tuple[list[float], torch.Tensor]:
        torch.manual_seed(6)
        model = LSTMForecaster(ModelConfig())
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

    ours, ours_weights = train(50)
    with lstm_cpu.disabled():
        theirs, their_weights = train(50)
    assert ours[-1] < 0.5 * ours[0]  # it learns
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ours_weights, their_weights, rtol=1e-4, atol=1e-5)
