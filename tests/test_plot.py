import matplotlib.image
import numpy as np
import pandas as pd

from lstm_forecast.figures import VAL_LOSS_LABEL, loss_figure
from pipeline.plot import main
from tests.helpers import SMALL_PARAMS, run_stages, stage_argv, write_params


def test_figures_are_pngs_of_the_requested_size(tiny_project):
    run_stages()
    forecast = matplotlib.image.imread(tiny_project / "metrics" / "figures" / "forecast.png")
    loss = matplotlib.image.imread(tiny_project / "metrics" / "figures" / "loss.png")
    # width 6 in x 3 in at 50 dpi
    assert forecast.shape[:2] == (150, 300) and loss.shape[:2] == (150, 300)
    assert np.std(forecast) > 0.05  # something was drawn, not a blank canvas


def test_plot_params_are_validated(tiny_project, capsys):
    run_stages()
    before = (tiny_project / "metrics" / "figures" / "forecast.png").read_bytes()
    write_params(tiny_project / "params.yaml", {**SMALL_PARAMS, "plot": {"dpi": 0}})
    assert main(stage_argv("plot")) == 2
    assert "error: plot.dpi=0 should be between 10 and 1200" in capsys.readouterr().err
    assert (tiny_project / "metrics" / "figures" / "forecast.png").read_bytes() == before


def test_the_loss_figure_names_what_validation_scores():
    # Validation scores the H-step forecasts from each origin (changes, when differencing), not one step.
    curves = pd.DataFrame({"step": [0, 1, 2], "train_loss": [1.0, 0.5, 0.4], "val_loss": [1.2, 0.7, 0.8]})
    fig = loss_figure(curves, 2, (6.0, 3.0))
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels == ["train (training objective)", VAL_LOSS_LABEL, "kept: epoch 2"]
    assert "H-step" in VAL_LOSS_LABEL and "one-step" not in VAL_LOSS_LABEL
