import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from lstm_forecast.figures import VAL_LOSS_LABEL, forecast_figure, future_figure, loss_figure, steps_in, time_unit
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


@pytest.mark.parametrize("freq, unit", [
    ("MS", "month"), ("M", "month"), ("QS", "quarter"), ("QS-OCT", "quarter"), ("W-SUN", "week"), ("D", "day"),
    ("B", "business day"), ("h", "hour"), ("30min", "30 minutes"), ("2MS", "2 months"), (None, "step"),
])
def test_a_frequency_alias_reads_as_a_time_unit(freq, unit):
    assert time_unit(freq) == unit


def test_a_count_of_steps_reads_in_the_unit():
    assert [steps_in(24, "month"), steps_in(1, "month"), steps_in(24, "30 minutes"), steps_in(3, "step")] == [
        "24 months", "1 month", "24 steps of 30 minutes", "3 steps"]


def axes_text(fig) -> tuple[str, str, str]:
    ax = fig.axes[0]
    return ax.get_xlabel(), ax.get_ylabel(), ax.get_title()


def test_the_plot_stage_labels_its_axes_with_the_time_unit_and_the_column(tiny_project):
    # The forecast stage draws future.png with the same labels from its own series.json.
    run_stages()
    series = pd.read_parquet(tiny_project / "data" / "scaled.parquet")
    predictions = pd.read_csv(tiny_project / "metrics" / "predictions.csv")
    drawn = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipeline.plot.save", lambda fig, path, dpi: drawn.append(fig))
        assert main(stage_argv("plot")) == 0
    assert axes_text(drawn[0]) == ("month", "level", "One-step-ahead forecasts")  # sine_series: monthly "level"
    assert axes_text(forecast_figure(series, predictions, (6.0, 3.0))) == ("time", "value", "One-step-ahead forecasts")
    assert axes_text(forecast_figure(series.drop(columns="time"), predictions, (6.0, 3.0), "month", "level"))[:2] == (
        "step", "level")  # no time stamps: the x axis counts steps


def test_the_future_figure_counts_the_forecast_in_the_time_unit():
    history = pd.DataFrame({"time": ["2000-01-01", "2000-02-01"], "step": [-1, 0], "actual": [1.0, 2.0]})
    forecast = pd.DataFrame({"time": ["2000-03-01", "2000-04-01", "2000-05-01"], "step": [1, 2, 3],
                             "forecast": [2.0, 2.5, 3.0], "lower_80": [1.0, 1.5, 2.0], "upper_80": [3.0, 3.5, 4.0]})
    fig = future_figure(history, forecast, (0.8,), "month", "sunspots")
    assert axes_text(fig) == ("month", "sunspots", "Forecast of the next 3 months")
    no_calendar = future_figure(history.drop(columns="time"), forecast.drop(columns="time"), (0.8,))
    assert axes_text(no_calendar) == ("steps from the end of the series", "value", "Forecast of the next 3 steps")
