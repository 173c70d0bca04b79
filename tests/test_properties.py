"""Property tests (hypothesis): cell parsing, scaling and windowing hold for any input, not just hand-picked ones."""
import re

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lstm_forecast.data.cells import to_numbers
from lstm_forecast.errors import ArgumentError, UserError
from lstm_forecast.prep.splits import normalize_series, split_bounds
from lstm_forecast.prep.splits import window_origins
from lstm_forecast.prep.windows import Windows

SETTINGS = settings(max_examples=150, deadline=None)
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


def column(cells) -> pd.Series:
    return pd.Series(list(cells), dtype=object)


# --- ingest: numbers stored as text ---


@SETTINGS
@given(st.lists(finite, min_size=1, max_size=30), st.sampled_from(["", " ", "  ", "\t"]))
def test_plain_numbers_as_text_read_back_exactly(values, pad):
    cells = [f"{pad}{v!r}{pad}" for v in values]
    assert to_numbers(column(cells), "y", 2).tolist() == values


@SETTINGS
@given(st.lists(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=30))
def test_grouped_numbers_read_the_same_in_either_convention(values):
    # Every cell carries a decimal part, so each is unambiguous: 1,234.50 and 1.234,50 are both 1234.5.
    comma = [f"{v:,.2f}" for v in values]
    dot = [c.replace(",", "_").replace(".", ",").replace("_", ".") for c in comma]
    expected = [float(v) for v in values]
    assert to_numbers(column(comma), "y", 2).tolist() == expected
    assert to_numbers(column(dot), "y", 2).tolist() == expected


@SETTINGS
@given(st.lists(finite, min_size=1, max_size=20), st.data())
def test_a_cell_that_is_not_a_number_is_reported_with_its_row(values, data):
    bad_at = data.draw(st.integers(0, len(values) - 1))
    word = data.draw(st.text(alphabet="abcxyz/?!", min_size=1, max_size=6))
    cells = [repr(v) for v in values]
    cells[bad_at] = word
    first_row = data.draw(st.integers(1, 100))
    with pytest.raises(UserError, match=rf"^column 'y' row {bad_at + first_row}: '{re.escape(word)}' is not a number"):
        to_numbers(column(cells), "y", first_row)


@SETTINGS
@given(st.lists(st.integers(1000, 10**8), min_size=1, max_size=20))
def test_thousands_commas_are_read_only_when_the_column_settles_them(numbers):
    # 1,234 alone reads as 1234 or as 1.234; 1,234,567 (two groups) only as 1234567 and so settles the column.
    cells = [f"{n:,}" for n in numbers]
    if any(n >= 10**6 for n in numbers):
        assert to_numbers(column(cells), "y", 2).tolist() == [float(n) for n in numbers]
    else:
        first = next(i for i, c in enumerate(cells) if c.count(",") == 1)
        with pytest.raises(ArgumentError,
                           match=rf"^decimal=None: column 'y' row {first + 2}: '{cells[first]}' is ambiguous"):
            to_numbers(column(cells), "y", 2)
        # Naming the decimal mark settles it.
        assert to_numbers(column(cells), "y", 2, decimal=".").tolist() == [float(n) for n in numbers]


@SETTINGS
@given(st.lists(finite, min_size=1, max_size=20), st.data())
def test_booleans_and_dates_are_never_read_as_numbers(values, data):
    bad_at = data.draw(st.integers(0, len(values) - 1))
    cell = data.draw(st.sampled_from([True, False, pd.Timestamp("2020-01-31"), np.datetime64("2001-02-03")]))
    cells = list(values)
    cells[bad_at] = cell
    kind = "a boolean" if isinstance(cell, bool) else "a date or time"
    with pytest.raises(UserError, match=rf"^column 'y' row {bad_at + 2}: .* is {kind}, not a number$"):
        to_numbers(column(cells), "y", 2)


# --- normalize: scaling ---


FRACTIONS = (0.7, 0.15, 0.15)
series_values = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=20, max_size=200)
methods = st.sampled_from(["zscore", "minmax"])


@SETTINGS
@given(series_values, methods)
def test_inverse_of_forward_is_the_identity(values, method):
    x = np.array(values)
    train_hi = split_bounds(len(x), FRACTIONS)["train"][1]
    assume(np.ptp(x[:train_hi]) > 1e-6 * max(1.0, np.abs(x[:train_hi]).max()))  # constant spans are refused
    scaled, info = normalize_series(pd.DataFrame({"value": x}), FRACTIONS, method, False)
    back = info.scaler.inverse(scaled["scaled"].to_numpy())
    np.testing.assert_allclose(back, x, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(x).max()))


@SETTINGS
@given(series_values, methods, st.booleans(), st.data())
def test_statistics_depend_only_on_the_training_span(values, method, difference, data):
    x = np.array(values)
    train_hi = split_bounds(len(x), FRACTIONS)["train"][1]
    modelled = np.diff(x, prepend=x[0]) if difference else x
    assume(np.ptp(modelled[int(difference):train_hi]) > 1e-6 * max(1.0, np.abs(modelled[:train_hi]).max()))
    later = data.draw(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
                               min_size=len(x) - train_hi, max_size=len(x) - train_hi))
    changed = np.concatenate([x[:train_hi], later])
    _, before = normalize_series(pd.DataFrame({"value": x}), FRACTIONS, method, difference)
    _, after = normalize_series(pd.DataFrame({"value": changed}), FRACTIONS, method, difference)
    assert before.scaler == after.scaler


# --- window: which values each window reads and is scored on ---


@SETTINGS
@given(st.integers(30, 400), st.integers(1, 40), st.integers(1, 12),
       st.sampled_from([(0.7, 0.15, 0.15), (0.5, 0.25, 0.25), (0.8, 0.1, 0.1)]), st.sampled_from(["sequence", "last"]))
def test_windows_never_look_ahead_or_across_splits(length, time_step, horizon, fractions, target):
    splits = split_bounds(length, fractions)
    try:
        origins = window_origins(length, splits, time_step, horizon)
    except ArgumentError:
        # Refused exactly when some split cannot hold one whole window.
        assert any(b - horizon + 1 - max(a, time_step) < 1 for a, b in splits.values())
        return
    series = torch.arange(length, dtype=torch.float64)  # each value is its own index
    for name, (a, b) in splits.items():
        windows = Windows(series, origins[name], time_step, target, horizon)
        # The count, per split, by brute force: every t whose inputs exist and whose future lies in the split.
        assert len(windows) == sum(1 for t in range(length) if t >= time_step and a <= t and t + horizon <= b)
        everything = torch.arange(len(windows))
        x, y = windows.batch(everything)
        future = windows.future(everything)
        t = windows.origins.double()
        # Inputs are the time_step values just before t; the future is t .. t + H - 1, inside the split.
        assert torch.equal(x[:, :, 0], t[None, :] + torch.arange(-time_step, 0, dtype=torch.float64)[:, None])
        assert torch.equal(future, t[:, None] + torch.arange(horizon, dtype=torch.float64)[None, :])
        assert future.min() >= a and future.max() < b
        # Every training target comes after the input it is paired with, and never after the split.
        last_input = x[:, :, 0] if target == "sequence" else x[-1:, :, 0]
        assert (y[..., 0] > last_input).all() and (y[..., 0] == last_input + 1).all()
        assert y.max() < b
        if name == "train":  # the pairs the model is fitted on take every target from the training span
            assert y.min() >= a and x.min() >= a
