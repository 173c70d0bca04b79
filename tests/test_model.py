import zipfile
from dataclasses import asdict

import pytest
import torch

from lstm_forecast.data.artifacts import LAYOUT, CheckpointMeta
from lstm_forecast.model.checkpoint import load_checkpoint, save_checkpoint
from lstm_forecast.errors import ArgumentError, StaleArtifact, UserError
from lstm_forecast.model.network import Ensemble, LSTMForecaster, ModelConfig, build_lstm, resolve_device

META = CheckpointMeta(best_epochs=(4,), time_step=12, target="sequence", horizon=1, strategy="recursive")


def tf_gate_kernel(lstm: torch.nn.LSTM, layer: int) -> torch.Tensor:
    """Layer ``layer``'s gate weights in TensorFlow 1's layout: [input + hidden, 4 * hidden]."""
    return torch.cat([getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}")], dim=1).T


def test_shapes_match_the_reference_worked_example():
    # The tutorial: batch 64, 20 steps, 200 features, 128 hidden units. This is the recurrent core that
    # LSTMForecaster uses (there it is fed by the input projection, so its input size is hidden_size).
    lstm = build_lstm(input_size=200, hidden_size=128, num_layers=2)
    assert tuple(tf_gate_kernel(lstm, 0).shape) == (200 + 128, 4 * 128)
    assert tuple(tf_gate_kernel(lstm, 1).shape) == (128 + 128, 4 * 128)
    out, (h, c) = lstm(torch.zeros(20, 64, 200))  # time-major, the layout the model feeds it
    assert tuple(out.transpose(0, 1).shape) == (64, 20, 128)
    assert tuple(h.shape) == (2, 64, 128)


def test_reference_model_shapes():
    model = LSTMForecaster(ModelConfig())
    assert tuple(model.project.weight.shape) == (8, 1)
    assert tuple(tf_gate_kernel(model.lstm, 0).shape) == (16, 32)
    assert model.lstm.num_layers == 2
    assert tuple(model(torch.zeros(7, 96, 1)).shape) == (7, 96, 1)


def test_checkpoint_round_trip_rebuilds_the_same_model(in_tmp):  # outputs are written only inside the project
    torch.manual_seed(0)
    model = LSTMForecaster(ModelConfig(hidden_size=5, num_layers=3, dropout=0.1))
    save_checkpoint(in_tmp / "models" / "m.pt", model, META)
    loaded, meta = load_checkpoint(in_tmp / "models" / "m.pt")
    assert loaded.config == model.config and meta == META
    x = torch.randn(2, 10, 1)
    model.eval()
    assert torch.equal(loaded(x), model(x))


def test_a_checkpoint_is_the_same_bytes_every_time(in_tmp):
    # torch.save given a path records the path's name in the zip archive; ours is written under a random
    # temporary name and renamed, so only a file object keeps the bytes a function of the model alone.
    torch.manual_seed(0)
    model = LSTMForecaster(ModelConfig())
    save_checkpoint("models/a.pt", model, META)
    save_checkpoint("models/b.pt", model, META)
    assert (in_tmp / "models" / "a.pt").read_bytes() == (in_tmp / "models" / "b.pt").read_bytes()
    names = zipfile.ZipFile(in_tmp / "models" / "a.pt").namelist()
    assert not any(name.startswith(".") or "tmp" in name for name in names), names


def test_a_checkpoint_from_an_older_layout_names_both_layouts(in_tmp):
    # The library says what is wrong; how to regenerate the file is the stage's to add (tests/test_edge.py).
    model = LSTMForecaster(ModelConfig())
    (in_tmp / "models").mkdir()
    torch.save({"config": asdict(model.config), "state_dict": model.state_dict(), "best_epoch": 2}, "models/old.pt")
    with pytest.raises(StaleArtifact, match=rf"^models/old.pt: written in artifact layout None, this code reads "
                                            rf"layout {LAYOUT}$"):
        load_checkpoint("models/old.pt")


def test_bad_checkpoints_are_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=r"junk.pt: not a checkpoint of this model"):
        load_checkpoint(tmp_path / "junk.pt")
    meta = META.to_json()
    torch.save({"config": {"hidden_size": 4}, "members": 1, "meta": meta,
                "state_dict": Ensemble([LSTMForecaster(ModelConfig())]).state_dict()}, tmp_path / "mismatch.pt")
    # One clear line, not torch's multi-line size-mismatch dump.
    with pytest.raises(UserError, match=r"^\S*mismatch.pt: its weights do not fit the model its config describes "
                                        r"\(1 member\(s\) of hidden_size=4, num_layers=2, output_size=1\): "
                                        r"members.0.project.weight is \[8, 1\] in the file, \[4, 1\] expected; "
                                        r"members.0.project.bias is \[8\] in the file, \[4\] "
                                        r"expected \(and 9 more\); retrain it$"):
        load_checkpoint(tmp_path / "mismatch.pt")
    state = Ensemble([LSTMForecaster(ModelConfig())]).state_dict()
    del state["members.0.head.bias"]
    torch.save({"config": {}, "members": 1, "state_dict": state, "meta": meta}, tmp_path / "partial.pt")
    with pytest.raises(UserError, match=r": members.0.head.bias is missing; retrain it"):
        load_checkpoint(tmp_path / "partial.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(UserError, match=r"tensor.pt: not a checkpoint of this model \(it holds a Tensor, not a dict"):
        load_checkpoint(tmp_path / "tensor.pt")
    torch.save({"config": {"hidden": 8}, "state_dict": state, "meta": meta}, tmp_path / "badconfig.pt")
    with pytest.raises(UserError, match=r"badconfig.pt: not a checkpoint of this model \(.*unexpected keyword"):
        load_checkpoint(tmp_path / "badconfig.pt")


def test_the_checkpoint_keeps_the_lstm_kernel(in_tmp):
    # evaluate forecasts with the kernel the model was trained for; a value that is neither is refused.
    model = LSTMForecaster(ModelConfig(lstm_kernel="torch"))
    save_checkpoint("models/torch.pt", model, META)
    assert load_checkpoint("models/torch.pt")[0].config.lstm_kernel == "torch"
    save_checkpoint("models/c.pt", LSTMForecaster(ModelConfig()), META)
    assert load_checkpoint("models/c.pt")[0].config.lstm_kernel == "c"
    config = {**asdict(ModelConfig()), "lstm_kernel": "cuda"}
    torch.save({"config": config, "state_dict": model.state_dict(), "meta": META.to_json()}, "models/bad.pt")
    with pytest.raises(UserError, match=r"^models/bad.pt: not a checkpoint of this model \(lstm_kernel='cuda' is "
                                        r"not 'c' or 'torch'\); retrain it$"):
        load_checkpoint("models/bad.pt")


def test_time_major_forward_matches_the_lstm_module():
    # With lstm_kernel torch, forward_time_major calls torch.lstm itself: it must compute what
    # nn.LSTM.forward does, gradients too (tests/test_lstm_cpu.py compares the C kernel with nn.LSTM).
    torch.manual_seed(0)
    model = LSTMForecaster(ModelConfig(hidden_size=5, num_layers=3, lstm_kernel="torch"))
    x = torch.randn(10, 4, 1)  # (time, batch, 1)
    assert not model.uses_c_kernel(x)
    ours = model.forward_time_major(x)
    ours.square().sum().backward()
    ours_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    expected = model.head(model.lstm(model.project(x))[0])
    expected.square().sum().backward()
    assert ours.shape == (10, 4, 1) and torch.equal(ours, expected)
    assert all(torch.equal(a, p.grad) for a, p in zip(ours_grads, model.parameters()))
    assert torch.equal(model(x.transpose(0, 1)), expected.transpose(0, 1))  # batch-first entry point
    model.double()  # .to() replaces every parameter tensor
    x = x.double()
    assert torch.equal(model.forward_time_major(x), model.head(model.lstm(model.project(x))[0]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_without_gpu_is_a_user_error():
    with pytest.raises(ArgumentError, match=r"^device='cuda': no CUDA GPU is available; use 'auto' or 'cpu'$"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
