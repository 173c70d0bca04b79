"""The gate's significance rule without dvc (ci/predictions.py): the LSTM's test errors at two revisions,
compared on their common origins; a change fails only when it is worse and significantly so."""
import numpy as np
import pandas as pd
import pytest

from ci import gate
from ci.predictions import PREDICTIONS, NotComparable, compare, compare_revisions, judging_loss
from tests.helpers import commit, sh


def predictions(errors, origins=None, actual=None) -> pd.DataFrame:
    """Test rows indexed by origin, as ci.predictions reads them: the same series at every call, plus ``errors``."""
    errors = np.asarray(errors, dtype=float)
    origins = np.arange(100, 100 + len(errors)) if origins is None else np.asarray(origins)
    actual = 50 + 10 * np.sin(origins) if actual is None else np.asarray(actual, dtype=float)
    return pd.DataFrame({"actual": actual, "predicted": actual + errors}, index=pd.Index(origins, name="origin"))


def test_gate_compares_losses_on_the_common_origins_only():
    base = predictions([9.0, 1, -1, 1, -1], origins=[9, 10, 11, 12, 13])
    work = predictions([2.0, -2, 2, -2, 50], origins=[10, 11, 12, 13, 14])
    by_loss = {c.loss: c for c in compare(base, work)}
    rmse, mae = by_loss["rmse"], by_loss["mae"]
    assert (rmse.origins, rmse.base, rmse.workspace, mae.base, mae.workspace) == (4, 1.0, 2.0, 1.0, 2.0)
    # Worse by 3 at every origin: no variance, so certainly worse (p = 0), at any alpha.
    assert rmse.p == 0.0 and rmse.worse and not rmse.passes(1e-9)
    same = {c.loss: c for c in compare(base, base)}["rmse"]
    assert (same.p, same.worse, same.passes(0.5)) == (1.0, False, True)


def test_gate_fails_a_real_regression_and_passes_noise():
    rng = np.random.default_rng(0)
    base = predictions(rng.normal(0, 3, 120))
    noisy = predictions(rng.normal(0, 3, 120))  # another seed's model: as good, other errors
    shifted = predictions(rng.normal(0, 3, 120) + 3)  # a bias of one sd
    calls = {}
    for name, work in (("noise", noisy), ("tiny", predictions(base["predicted"] - base["actual"] + 1e-3)),
                       ("shifted", shifted)):
        rmse = {c.loss: c for c in compare(base, work)}["rmse"]
        calls[name] = rmse.passes(0.05)
        assert rmse.p is not None and (rmse.p < 0.05) == (name == "shifted"), (name, rmse)
    assert calls == {"noise": True, "tiny": True, "shifted": False}
    assert {c.loss: c for c in compare(shifted, base)}["rmse"].passes(0.05)  # an improvement never fails
    broken = predictions([1.0, np.nan, 1.0])
    assert not {c.loss: c for c in compare(predictions([1.0, 1.0, 1.0]), broken)}["rmse"].passes(0.05)


def test_gate_refuses_to_compare_other_series():
    base = predictions([1.0, -1, 1, -1])
    with pytest.raises(NotComparable, match=r"^the actual values differ at 4 of the 4 common test origins "
                                            r"\(another series or split\?\)$"):
        compare(base, predictions([1.0, -1, 1, -1], actual=base["actual"] + 1))
    compare(base, predictions([1.0, -1, 1, -1], actual=base["actual"] + 1e-6))  # the CSV's last decimal
    with pytest.raises(NotComparable, match=r"^1 test origin\(s\) in common, the test needs 2$"):
        compare(base, predictions([1.0, 2.0], origins=[103, 104]))


@pytest.mark.parametrize("name, loss", [
    ("test_lstm_rmse", "rmse"), ("test_lstm_mae", "mae"), ("test_lstm_mase", "mae"), ("test_lstm_skill", "mae"),
    ("test_lstm_smape", "smape"), ("val_lstm_rmse", None), ("test_linear_rmse", None), ("test_lstm_width", None),
    ("test_lstm_coverage", None), ("test_lstm_vs_linear_dm_p", None),
])
def test_gate_judges_the_lstms_one_step_test_errors_by_significance(name, loss):
    assert judging_loss(name, {name}) == loss
    # With H > 1 steps the plain names are means over the steps, not the one-step errors predictions.csv holds.
    multi = {name, "test_lstm_rmse_h1", "test_lstm_rmse_h2"}
    assert judging_loss(name, multi) is None
    assert judging_loss(f"{name}_h1", multi) == loss
    assert judging_loss(f"{name}_h2", multi) is None


def test_gate_reads_the_predictions_committed_at_base(tmp_path, monkeypatch, dvc_env):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / PREDICTIONS
    path.parent.mkdir()
    rng = np.random.default_rng(1)
    frame = predictions(rng.normal(0, 3, 80)).reset_index().assign(split="test")
    frame.to_csv(path, index=False)
    sh(tmp_path, dvc_env, "git", "init", "-q")
    with pytest.raises(NotComparable, match=r"^no metrics/predictions.csv at HEAD$"):
        compare_revisions("HEAD")
    commit(tmp_path, dvc_env, "base")
    frame.assign(predicted=frame["predicted"] + 4, split=["val"] * 40 + ["test"] * 40).to_csv(path, index=False)
    rmse = {c.loss: c for c in compare_revisions("HEAD")}["rmse"]
    assert rmse.origins == 40 and rmse.worse and not rmse.passes(0.05)
    path.unlink()
    with pytest.raises(NotComparable, match=r"^no metrics/predictions.csv in the workspace$"):
        compare_revisions("HEAD")


def test_gate_alpha_is_checked(capsys):
    assert gate.main(["HEAD", "--alpha", "1.5"]) == 2
    assert capsys.readouterr().err == "error: --alpha=1.5 should be between 0 and 1\n"
