import json
import logging

import pytest
import torch

from lstm_forecast.data.artifacts import LAYOUT, Normalization, SeriesInfo, WindowIndex
from lstm_forecast.errors import ArgumentError
from lstm_forecast.prep.scaling import Scaler
from lstm_forecast.prep.splits import window_origins
from lstm_forecast.prep.windows import Windows
from pipeline.window import main
from tests.helpers import write_params

SPLITS = {"train": (0, 10), "val": (10, 13), "test": (13, 16)}
SCALER = Scaler("zscore", 0.0, 1.0)


def write_stats(folder, splits=SPLITS, length=16, scaler=SCALER, time_column="date", step=None):
    """A normalize.json and a series.json of the current layout: sorted keys, as the stages write them."""
    text = json.dumps(Normalization(length, splits, scaler, False).to_json(), sort_keys=True)
    (folder / "stats.json").write_text(text)
    info = SeriesInfo("value", time_column, None if step else "MS", step, length)
    (folder / "series.json").write_text(json.dumps(info.to_json(), sort_keys=True))


ARGV = ["--stats", "stats.json", "--info", "series.json", "--out", "data/windows.json"]
# Later stages' settings that a 16-value series can hold (the window stage checks them: test_feasibility.py).
HOLDS = {"crossval": {"folds": 0}, "forecast": {"levels": [0.5]},
         "evaluate": {"season": 1, "interval": 0.5, "interval_window": 0, "interval_method": "split"}}


def test_window_origins_per_split():
    # train loses its first time_step points; val and test windows reach back into earlier splits.
    assert window_origins(16, SPLITS, 4) == {"train": (4, 10), "val": (10, 13), "test": (13, 16)}


def test_no_whole_window_names_the_numbers():
    with pytest.raises(ArgumentError, match=r"^time_step=10: leaves no whole window in the train split \(series length "
                                            r"16; split sizes train 10, val 3, test 3\); .* needs time_step \+ horizon "
                                            r"= 11 values"):
        window_origins(16, SPLITS, 10)


def test_sequence_windows_target_the_inputs_shifted_by_one():
    series = torch.arange(16, dtype=torch.float32)
    windows = Windows(series, (4, 10), 4, "sequence")
    assert len(windows) == 6
    x, y = windows.batch(torch.tensor([0, 5]))
    assert x.shape == (4, 2, 1) and y.shape == (4, 2, 1)  # time-major
    assert x[:, :, 0].T.tolist() == [[0, 1, 2, 3], [5, 6, 7, 8]]
    assert y[:, :, 0].T.tolist() == [[1, 2, 3, 4], [6, 7, 8, 9]]


def test_last_windows_target_the_next_value():
    series = torch.arange(16, dtype=torch.float32)
    x, y = Windows(series, (13, 16), 4, "last").batch(torch.tensor([0, 2]))
    assert x[:, :, 0].T.tolist() == [[9, 10, 11, 12], [11, 12, 13, 14]]
    assert y.shape == (1, 2, 1) and y.flatten().tolist() == [13, 15]


def test_every_input_precedes_its_target_and_targets_stay_in_their_split():
    series = torch.arange(16, dtype=torch.float32)
    for split, (lo, hi) in window_origins(16, SPLITS, 4).items():
        x, y = Windows(series, (lo, hi), 4, "last").batch(torch.arange(hi - lo))
        assert (x.amax(dim=(0, 2)) < y.flatten()).all()
        assert y.min() >= SPLITS[split][0] and y.max() < SPLITS[split][1]


def test_windows_are_a_view_of_the_series_not_a_copy():
    series = torch.randn(1000)
    windows = Windows(series, (96, 1000), 96, "sequence")
    assert windows._rows.untyped_storage().data_ptr() == series.untyped_storage().data_ptr()
    assert windows._rows.untyped_storage().nbytes() == 1000 * 4


def test_main_writes_index_and_rejects_bad_params(in_tmp, capsys):
    write_stats(in_tmp)
    write_params(in_tmp / "params.yaml", {**HOLDS, "window": {"time_step": 4, "target": "last", "calendar": []}})
    assert main(ARGV) == 0
    index = json.loads((in_tmp / "data" / "windows.json").read_text())
    assert index == {"layout": LAYOUT, "time_step": 4, "target": "last", "horizon": 1,
                     "origins": {"train": [4, 10], "val": [10, 13], "test": [13, 16]},
                     "counts": {"train": 6, "val": 3, "test": 3}, "scale_windows": False, "calendar": []}
    assert WindowIndex.from_json(index) == WindowIndex(4, "last", 1, window_origins(16, SPLITS, 4))
    (in_tmp / "data" / "windows.json").unlink()
    write_params(in_tmp / "params.yaml", {"window": {"time_step": 0}})
    assert main(ARGV) == 2
    assert "error: window.time_step=0 should be >= 1" in capsys.readouterr().err
    assert not (in_tmp / "data" / "windows.json").exists()


def test_main_series_too_short_for_the_window(in_tmp, capsys):
    # Sizes listed split by split, in time order, whatever order the JSON keys come in (they are sorted).
    write_stats(in_tmp, {"train": (0, 420), "val": (420, 510), "test": (510, 600)}, 600)
    write_params(in_tmp / "params.yaml", {"window": {"time_step": 700}})
    assert main(ARGV) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: window.time_step=700: leaves no whole window in the train and val and test split "
                          "(series length 600; split sizes train 420, val 90, test 90);")
    assert err.rstrip().endswith("; lower window.time_step or window.horizon, or give the series more rows")
    assert not (in_tmp / "data" / "windows.json").exists()


def test_main_names_a_stats_file_from_an_older_layout(in_tmp, capsys):
    (in_tmp / "stats.json").write_text(json.dumps({"length": 16, "splits": {k: list(v) for k, v in SPLITS.items()}}))
    write_params(in_tmp / "params.yaml", {"window": {"time_step": 4}})
    assert main(ARGV) == 2
    assert capsys.readouterr().err == (f"error: stats.json: written in artifact layout None, this code reads layout "
                                       f"{LAYOUT}; rerun the pipeline to regenerate it: dvc repro\n")
    assert not (in_tmp / "data" / "windows.json").exists()


def test_horizon_shortens_every_split_and_windows_carry_h_targets():
    assert window_origins(16, SPLITS, 4, horizon=2) == {"train": (4, 9), "val": (10, 12), "test": (13, 15)}
    series = torch.arange(16, dtype=torch.float32)
    windows = Windows(series, (4, 9), 4, "sequence", horizon=2)
    x, y = windows.batch(torch.tensor([0]))
    assert x[:, 0, 0].tolist() == [0, 1, 2, 3]
    assert y.shape == (4, 1, 2) and y[:, 0].tolist() == [[1, 2], [2, 3], [3, 4], [4, 5]]
    _, last = Windows(series, (4, 9), 4, "last", horizon=2).batch(torch.tensor([4]))
    assert last.tolist() == [[[8, 9]]]
    # The last training window's targets stay inside the training span [0, 10).
    assert windows.future()[-1].tolist() == [8, 9]
    strided = Windows(series, (13, 15), 4, "last", horizon=2, stride=5)
    assert strided.origins.tolist() == [13]


def test_time_step_auto_is_three_seasons_within_the_training_span(in_tmp, caplog):
    caplog.set_level(logging.INFO)
    write_stats(in_tmp, {"train": (0, 140), "val": (140, 170), "test": (170, 200)}, 200)
    write_params(in_tmp / "params.yaml", {"window": {"time_step": "auto"}, "evaluate": {"season": 12}})
    assert main(ARGV) == 0
    assert json.loads((in_tmp / "data" / "windows.json").read_text())["time_step"] == 36
    assert "time_step auto: 36 (three seasons of 12" in caplog.text
    # Quarterly: at least 16 steps; a long season: at most 192, and a third of the training span.
    write_params(in_tmp / "params.yaml", {"window": {"time_step": "auto"}, "evaluate": {"season": 4}})
    assert main(ARGV) == 0
    assert json.loads((in_tmp / "data" / "windows.json").read_text())["time_step"] == 16
    # (Without crossval, whose first fold's scored origins come before a season of 132.)
    write_params(in_tmp / "params.yaml", {"window": {"time_step": "auto"}, "evaluate": {"season": 132},
                                          "crossval": {"folds": 0}})
    assert main(ARGV) == 0
    assert json.loads((in_tmp / "data" / "windows.json").read_text())["time_step"] == 46  # 140 // 3


def test_season_auto_comes_from_series_json(in_tmp, caplog):
    caplog.set_level(logging.INFO)
    write_stats(in_tmp, {"train": (0, 140), "val": (140, 170), "test": (170, 200)}, 200)  # monthly (MS)
    write_params(in_tmp / "params.yaml", {"window": {"time_step": "auto"}})  # evaluate.season: auto by default
    assert main(ARGV) == 0
    assert json.loads((in_tmp / "data" / "windows.json").read_text())["time_step"] == 36
    assert "season auto: 12 for frequency MS (a year of MS steps)" in caplog.text
    assert "time_step auto: 36 (three seasons of 12" in caplog.text
    # No dates (a step index): no season, so the shortest input, 16 steps; the log says what to set.
    caplog.clear()
    write_stats(in_tmp, {"train": (0, 140), "val": (140, 170), "test": (170, 200)}, 200, time_column="t", step=1.0)
    write_params(in_tmp / "params.yaml", {"window": {"time_step": "auto"}, "evaluate": {"season": "auto"}})
    assert main(ARGV) == 0
    assert json.loads((in_tmp / "data" / "windows.json").read_text())["time_step"] == 16
    assert ("season auto: 1 (no season) for frequency None: the rows have no dates, so everything works in steps; "
            "set evaluate.season to the period in steps if there is one") in caplog.text
    # A fixed time_step reads no season.
    caplog.clear()
    write_params(in_tmp / "params.yaml", {"window": {"time_step": 8}})
    assert main(ARGV) == 0
    assert "season auto" not in caplog.text


def test_window_scaling_and_calendar_are_recorded_and_need_dates(in_tmp, capsys):
    write_stats(in_tmp, scaler=Scaler("window", 0.0, 1.0))
    write_params(in_tmp / "params.yaml", {**HOLDS, "window": {"time_step": 4, "calendar": ["month", "dayofweek"]}})
    assert main(ARGV) == 0
    index = WindowIndex.read(in_tmp / "data" / "windows.json")
    assert index.scale_windows and index.calendar == ("month", "dayofweek")
    for time_column, step in ((None, None), ("t", 1.0)):
        write_stats(in_tmp, time_column=time_column, step=step)
        assert main(ARGV) == 2
        what = "no time column" if time_column is None else "a step index ('t'), not dates"
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"error: window.calendar=['month', 'dayofweek'] needs a time column of dates; series.json has {what}; "
            "set window.calendar: [] or ingest.time_column")
    write_params(in_tmp / "params.yaml", {"window": {"time_step": 4, "calendar": ["moon"]}})
    assert main(ARGV) == 2
    assert "error: window.calendar=['moon'] should list each feature once, from: month, quarter, dayofweek, " \
           "dayofyear, hour" in capsys.readouterr().err
