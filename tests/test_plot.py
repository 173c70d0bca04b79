import matplotlib.image
import numpy as np

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
