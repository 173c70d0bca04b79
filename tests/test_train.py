import json
import math
import re

import pytest
import torch

from lstm_forecast.model import progress, training
from lstm_forecast.errors import UserError
from lstm_forecast.model.checkpoint import load_checkpoint
from lstm_forecast.model.network import LSTMForecaster, ModelConfig, resolve_device
from lstm_forecast.model.optim import FlatAdam, single_buffer_adam
from lstm_forecast.model.forecasting import forecast_mse
from lstm_forecast.model.members import fit
from lstm_forecast.model.training import Diverged, FitSettings
from pipeline.train import TrainParams, diverged_as_user_error, main
from lstm_forecast.prep.windows import Windows
from tests.helpers import SMALL_PARAMS, reference_training, run_stages, stage_argv, write_params


def sine_windows(target="sequence", device="cpu"):
    t = torch.arange(200, dtype=torch.float32)
    series = torch.sin(2 * math.pi * t / 20).to(device)
    return Windows(series, (10, 150), 10, target), Windows(series, (150, 200), 10, "last")


def test_training_reduces_validation_loss_and_is_deterministic():
    train, val = sine_windows()
    params = reference_training(FitSettings, epochs=8, batch_size=8, lr=0.01, seed=3)
    untrained = forecast_mse(LSTMForecaster(ModelConfig()), val, "recursive")
    first = fit(train, val, params, torch.device("cpu"))
    second = fit(train, val, params, torch.device("cpu"))
    assert first.best_val_loss < untrained / 4
    assert first.val_losses == second.val_losses and first.train_losses == second.train_losses
    for name, tensor in first.model.state_dict().items():
        assert torch.equal(tensor, second.model.state_dict()[name]), name


def test_keeps_the_weights_of_the_best_validation_epoch():
    train, val = sine_windows()
    result = fit(train, val, reference_training(FitSettings, epochs=6, batch_size=8, lr=0.05, seed=0),
                 torch.device("cpu"))
    assert result.best_val_loss == min(result.val_losses)
    assert result.best_epoch == 1 + result.val_losses.index(min(result.val_losses))
    assert forecast_mse(result.model, val, "recursive") == pytest.approx(result.best_val_loss, rel=1e-6)


def test_last_target_trains_too():
    train, val = sine_windows("last")
    result = fit(train, val, reference_training(FitSettings, epochs=3, batch_size=8, lr=0.01), torch.device("cpu"))
    assert len(result.train_losses) == 3 and all(math.isfinite(v) for v in result.train_losses)


def test_patience_stops_early():
    train, val = sine_windows()
    # An absurd learning rate makes validation loss stop improving almost at once.
    result = fit(train, val, reference_training(FitSettings, epochs=50, batch_size=8, lr=0.9, patience=2),
                 torch.device("cpu"))
    assert len(result.val_losses) == result.best_epoch + 2 < 50


@pytest.mark.parametrize("lr", [1e3, 1e30])
def test_divergence_is_reported_with_the_param_to_lower(lr):
    # lr 1e3 blows the loss up to millions of times the targets' mean square but stays finite; 1e30 gives NaN.
    train, val = sine_windows()
    with pytest.raises(UserError, match=rf"^training diverged at epoch 1: train loss \S+, validation loss \S+ "
                                        rf"\(forecasting 0 everywhere scores 0.5\d*\); lower train.lr "
                                        rf"\(now {re.escape(f'{lr:g}')}\); nothing was saved$"):
        with diverged_as_user_error(params := reference_training(TrainParams, epochs=5, batch_size=8, lr=lr)):
            fit(train, val, params, torch.device("cpu"))
    with pytest.raises(Diverged, match=r"^training diverged at epoch 1: .*scores 0.5\d*\)$"):  # the loop's own words
        fit(train, val, reference_training(FitSettings, epochs=5, batch_size=8, lr=lr), torch.device("cpu"))


def test_a_nan_stops_a_long_epoch_at_the_next_check(monkeypatch):
    monkeypatch.setattr(training, "NAN_CHECK_BATCHES", 4)
    train, val = sine_windows()  # 140 windows: 18 batches of 8 per epoch
    with pytest.raises(UserError, match=r"^training diverged at epoch 1, batch 4: the loss is not finite; "
                                        r"lower train.lr \(now 1e\+30\); nothing was saved$"):
        with diverged_as_user_error(params := reference_training(TrainParams, epochs=5, batch_size=8, lr=1e30)):
            fit(train, val, params, torch.device("cpu"))


def test_sane_learning_rates_are_not_called_divergent():
    # lr 10 starts with a loss hundreds of times too big but recovers: below the threshold, so it trains on.
    train, val = sine_windows()
    result = fit(train, val, reference_training(FitSettings, epochs=5, batch_size=8, lr=10.0), torch.device("cpu"))
    assert len(result.train_losses) == 5 and result.train_losses[0] > 100 * result.train_losses[-1]


def test_single_buffer_adam_matches_stock_adam_bitwise():
    torch.manual_seed(0)
    a = LSTMForecaster(ModelConfig())
    b = LSTMForecaster(ModelConfig())
    b.load_state_dict(a.state_dict())
    stock = torch.optim.Adam(a.parameters(), lr=0.01)
    flat, grads = single_buffer_adam(b, lr=0.01)
    x, y = torch.randn(4, 12, 1), torch.randn(4, 12, 1)
    for _ in range(30):
        stock.zero_grad()
        torch.nn.functional.mse_loss(a(x), y).backward()
        stock.step()
        grads.zero_()
        torch.nn.functional.mse_loss(b(x), y).backward()
        flat.step()
    for name, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[name]), name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_trains_and_forecasts_like_cpu():
    # The same code path on the GPU (cuDNN LSTM): validation losses agree with the CPU's to float tolerance.
    train, val = sine_windows()
    params = reference_training(FitSettings, epochs=3, batch_size=8, lr=0.01)
    cpu = fit(train, val, params, torch.device("cpu"))
    on_gpu = fit(*sine_windows(device="cuda"), params, torch.device("cuda"))
    assert next(on_gpu.model.parameters()).is_cuda
    assert resolve_device("auto").type == "cuda"
    assert on_gpu.val_losses == pytest.approx(cpu.val_losses, rel=1e-3)


def test_main_writes_checkpoint_and_curves(tiny_project):
    run_stages(["ingest", "normalize", "window", "train"])
    model, ckpt = load_checkpoint(tiny_project / "models" / "model.pt")
    summary = json.loads((tiny_project / "metrics" / "train" / "metrics.json").read_text())
    assert ckpt.time_step == 12 and ckpt.target == "sequence" and ckpt.best_epochs == (summary["best_epoch"],)
    assert ckpt.horizon == 1 and ckpt.strategy == "recursive"
    assert model.config == ModelConfig(hidden_size=8, num_layers=2)
    lines = (tiny_project / "metrics" / "train" / "plots" / "metrics" / "val_loss.tsv").read_text().splitlines()
    assert lines[0] == "step\tval_loss" and len(lines) == 1 + 3


def test_batch_larger_than_training_windows(tiny_project, capsys):
    run_stages(["ingest", "normalize", "window"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "train": {"batch_size": 5000}})
    assert main(stage_argv("train")) == 2
    assert "error: train.batch_size=5000: larger than the 132 training windows" in capsys.readouterr().err
    assert not (tiny_project / "models" / "model.pt").exists()


@pytest.mark.parametrize("lr", [1e30, 1e3])  # NaN, and a finite blow-up
def test_diverged_run_writes_neither_model_nor_curves(tiny_project, capsys, lr):
    run_stages(["ingest", "normalize", "window"])
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "train": {**SMALL_PARAMS["train"], "lr": lr}})
    assert main(stage_argv("train")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: training diverged at epoch 1: train loss ")
    assert f"lower train.lr (now {lr:g})" in err
    assert not (tiny_project / "models").exists() and not (tiny_project / "metrics").exists()


def test_direct_strategy_learns_all_steps_at_once():
    t = torch.arange(200, dtype=torch.float32)
    series = torch.sin(2 * math.pi * t / 20)
    train = Windows(series, (10, 148), 10, "sequence", horizon=3)
    val = Windows(series, (150, 198), 10, "last", horizon=3)
    result = fit(train, val, reference_training(FitSettings, epochs=8, batch_size=8, lr=0.01, strategy="direct"),
                 torch.device("cpu"))
    assert result.model.members[0].head.out_features == 3
    untrained = forecast_mse(LSTMForecaster(ModelConfig(output_size=3)), val, "direct")
    assert result.best_val_loss < untrained / 4


def test_steps_per_epoch_samples_that_many_batches(monkeypatch):
    train, val = sine_windows()
    steps = []
    original = FlatAdam.step
    monkeypatch.setattr(FlatAdam, "step", lambda self: steps.append(1) or original(self))
    full = fit(train, val, reference_training(FitSettings, epochs=1, batch_size=8, seed=5), torch.device("cpu"))
    short = fit(train, val, reference_training(FitSettings, epochs=1, batch_size=8, seed=5, steps_per_epoch=3),
                torch.device("cpu"))
    # 140 windows: a full epoch is 18 batches; 3 steps of 8 windows see 24 of them.
    assert len(steps) == 18 + 3
    assert full.train_losses != short.train_losses
    again = fit(train, val, reference_training(FitSettings, epochs=1, batch_size=8, seed=5, steps_per_epoch=18),
                torch.device("cpu"))
    assert again.train_losses == full.train_losses  # 18 x 8 >= 140: the whole shuffled epoch, same as 0


def test_each_epoch_validates_a_bounded_evenly_spread_sample(monkeypatch):
    t = torch.arange(400, dtype=torch.float32)
    series = torch.sin(2 * math.pi * t / 20)
    train, val = Windows(series, (10, 150), 10, "sequence"), Windows(series, (150, 400), 10, "last")
    monkeypatch.setattr(training, "VALIDATION_WINDOWS", 100)
    sizes = []
    original = training.forecast_mse
    monkeypatch.setattr(training, "forecast_mse", lambda model, w, s: sizes.append(len(w)) or original(model, w, s))
    result = fit(train, val, reference_training(FitSettings, epochs=3, batch_size=8, seed=5), torch.device("cpu"))
    # 250 validation windows: every 3rd (84 of them) each epoch.
    assert sizes == [84, 84, 84]
    assert val.thinned(100).origins.tolist() == list(range(150, 400, 3))
    sample = val.thinned(100)
    assert result.best_val_loss == pytest.approx(original(result.model.members[0], sample, "recursive"))
    assert val.thinned(250) is val  # within the bound: every window, as before


def test_training_logs_progress_lines_with_the_time_left(monkeypatch, caplog):
    caplog.set_level("INFO", logger=progress.log.name)
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)  # a line at every chance
    train, val = sine_windows()
    fit(train, val, reference_training(FitSettings, epochs=2, batch_size=70, seed=5, ensemble=2), torch.device("cpu"))
    lines = [r.getMessage() for r in caplog.records if r.name == progress.log.name]
    # The members may train side by side (lstm_forecast.parallel): each says its own time left.
    for k in (1, 2):
        own = [line for line in lines if line.startswith(f"member {k} of 2, ")]
        assert own[0].startswith(f"member {k} of 2, epoch 1 of 2, batch 1 of 2; ")
        assert re.fullmatch(rf"member {k} of 2, epoch 2 of 2 done: train loss \d\.\d{{4}}, validation loss "
                            r"\d\.\d{4} \(best epoch \d\); about 0 s left", own[-1])
        assert any("about" in line and "s left" in line for line in own[:3])
