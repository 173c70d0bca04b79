"""The library's front door: ``Forecaster``, what the DVC stages compute, on a long DataFrame in a notebook.

    from lstm_forecast import Forecaster
    fc = Forecaster.from_params("params.yaml").fit(df)      # df: unique_id, ds, y
    fc.predict(24)                                          # unique_id, ds, forecast, lo-80, hi-80, lo-95, hi-95

``fit`` runs what normalize, window and train run; ``predict`` what forecast runs (bands calibrated on the
validation and test spans, the network retrained on the whole series); ``backtest`` and ``scores`` what
evaluate writes; ``cross_validation`` what crossval writes. Each is the stages' own code, so the numbers are
the pipeline's. The settings are params.yaml's sections and keys (``Forecaster(train={"hidden_size": 32})``).
"""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstm_forecast.config.keys import EVALUATE_KEYS, FOLD_KEYS, FORECAST_KEYS
from lstm_forecast.config.plan import check_calendar, plan_future, plan_windows
from lstm_forecast.config.presets import REFERENCE
from lstm_forecast.config.sections import Settings
from lstm_forecast.data.artifacts import CheckpointMeta, Normalization, SeriesInfo, WindowIndex
from lstm_forecast.data.frames import forecast_frame, frame_errors, frame_series, future_ds, future_levels, saved_history
from lstm_forecast.errors import ArgumentError, UserError, param_errors
from lstm_forecast.evaluation.assess import assess
from lstm_forecast.evaluation.frames import backtest_frame, crossval_frame, scores_frame
from lstm_forecast.future.bands import future_stamps, series_times
from lstm_forecast.future.make import Honesty, make_future
from lstm_forecast.future.model import FutureModel
from lstm_forecast.model.fit_results import TrainResult
from lstm_forecast.model.fitting import train_on
from lstm_forecast.model.network import resolve_device
from lstm_forecast.model.training import Diverged
from lstm_forecast.prep.splits import scale_and_flag, split_bounds

log = logging.getLogger(__name__)


@contextlib.contextmanager
def torch_work(threads: int) -> Iterator[None]:
    """Training and forecasting as the stages run them: torch's CPU threads set to ``threads``, and given back
    after, as is the caller's random state (training seeds torch's generator itself); a divergence says which
    setting to lower."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    except Diverged as err:
        raise Diverged(f"{err}; lower train.lr") from None
    finally:
        torch.set_num_threads(before)


def _plain(uid: object) -> str | int | float:
    """An id as a checkpoint can hold it (plain types only, for weights-only loading)."""
    return uid.item() if isinstance(uid, np.generic) else uid if isinstance(uid, (str, int, float)) else str(uid)


@dataclass(frozen=True)
class Fitted:
    """What fit found and made: the series as ingest makes it, normalize's frame and statistics, window's
    index, the trained ensemble and its checkpoint meta."""

    series: pd.DataFrame
    info: SeriesInfo
    uid: object
    frame: pd.DataFrame
    norm: Normalization
    index: WindowIndex
    result: TrainResult
    meta: CheckpointMeta


class Forecaster:
    """An LSTM forecaster configured like the pipeline (see the module's docstring)."""

    def __init__(self, **sections: dict[str, Any]):
        self.settings = Settings.from_sections(sections)
        self._fitted: Fitted | None = None
        self._future: tuple[FutureModel, Honesty | None] | None = None
        self._assessed: tuple[dict, dict] | None = None

    @classmethod
    def from_params(cls, path: str | os.PathLike = "params.yaml") -> Forecaster:
        """The settings of a params file; its sections' unset keys take the defaults."""
        out = cls()
        out.settings = Settings.from_file(path)
        return out

    @classmethod
    def reference(cls, **sections: dict[str, Any]) -> Forecaster:
        """The TF1 tutorial's configuration (``lstm_forecast.config.presets.REFERENCE``), with ``sections`` on top."""
        merged = {name: dict(keys) for name, keys in REFERENCE.items()}
        for name, keys in sections.items():
            merged[name] = merged.get(name, {}) | dict(keys)
        return cls(**merged)

    def __repr__(self) -> str:
        state = "fitted" if self._fitted else "loaded" if self._future else "not fitted"
        return f"Forecaster({state}; {self.settings.as_sections()['train']})"

    def fit(self, df: pd.DataFrame, id_col: str = "unique_id", time_col: str = "ds",
            target_col: str = "y") -> Forecaster:
        """Normalize, window and train on the one series of ``df``, every ``auto`` chosen as the stages choose it."""
        s = self.settings
        series, info, uid = self._series(df, id_col, time_col, target_col)
        fractions = (s.normalize.train, s.normalize.val, s.normalize.test)
        with param_errors("normalize"):
            frame, norm, found = scale_and_flag(series, split_bounds(len(series), fractions), s.normalize.method,
                                                s.normalize.difference, s.normalize.outliers)
        if len(found.positions):
            log.warning("%d outlier(s) in the modelled series, the first at row %d (normalize.outliers: %s)",
                        len(found.positions), found.positions[0], s.normalize.outliers)
        check_calendar(s.window, info, "the frame")
        index, _, lines = plan_windows(norm, info.freq, s.window, s.evaluate, s.train, s.forecast, s.crossval)
        for line in lines:
            log.info("%s", line)
        with torch_work(s.train.threads), param_errors("train", {"calendar": "window.calendar"}):
            result, meta = train_on(frame, index, s.train, resolve_device(s.train.device))
        self._fitted = Fitted(series, info, uid, frame, norm, index, result, meta)
        self._future, self._assessed = None, None
        return self

    def predict(self, h: int | None = None, level: float | tuple[float, ...] | None = (80, 95),
                df: pd.DataFrame | None = None, id_col: str = "unique_id", time_col: str = "ds",
                target_col: str = "y") -> pd.DataFrame:
        """The next ``h`` values (default: ``forecast.steps``) after the fitted series, or after ``df``'s series
        when given, with the bands of ``level`` (percent; each one of ``forecast.levels``; None: all of them)."""
        future, _ = self._forecasting_model()
        levels = future_levels(future, level)
        if h is not None and (isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1):
            raise ArgumentError("h", h, f"should be a whole number of steps from 1 to {future.steps}")
        if df is not None:
            series, info, uid = self._series(df, id_col, time_col, target_col)
        elif self._fitted is not None:
            series, info, uid = self._fitted.series, self._fitted.info, self._fitted.uid
        elif future.history is not None:
            series, info, uid = saved_history(future)
        else:
            raise ArgumentError("df", None, "this model holds no history to forecast from; pass the series")
        values, times = series["value"].to_numpy(dtype=np.float64), series_times(series)
        freq = info.freq if times is not None else None
        with frame_errors({"history": "df", "steps": "h", "calendar": "df"}), torch_work(1):
            future.check_history(values, freq)
            table = future.forecast(values, times, freq, None if h is None else int(h), levels)
        stamps = future_stamps(None if times is None else times.iloc[-1], freq, len(table))
        return forecast_frame(table, uid, future_ds(series, info, stamps, len(table)), levels)

    def backtest(self) -> pd.DataFrame:
        """Evaluate's rolling-origin forecasts: per split, origin and step, the actual value and the forecast of
        the LSTM and of every baseline from the same origins, and the LSTM's interval."""
        fitted, (runs, _) = self._need_fit("backtest"), self._assess()
        return backtest_frame(runs, fitted.series, fitted.uid)

    def scores(self) -> pd.DataFrame:
        """Evaluate's scores as rows (split, model, metric, value): evaluate.json in a frame."""
        fitted, (_, results) = self._need_fit("scores"), self._assess()
        return scores_frame(results, fitted.uid)

    def cross_validation(self, df: pd.DataFrame | None = None, folds: int | None = None, id_col: str = "unique_id",
                         time_col: str = "ds", target_col: str = "y") -> pd.DataFrame:
        """Crossval's expanding-window folds (``crossval.folds`` unless ``folds``), each rebuilt and retrained from
        its own training span: per fold and model the test scores, with the fold's cutoff (the last value before
        its test span). The summary crossval.json holds is in ``.attrs["summary"]``."""
        if df is not None:
            series, info, uid = self._series(df, id_col, time_col, target_col)
        else:
            fitted = self._need_fit("cross_validation without a frame")
            series, info, uid = fitted.series, fitted.info, fitted.uid
        s = self.settings
        with torch_work(s.train.threads), param_errors("window", FOLD_KEYS):
            return crossval_frame(series, info, uid, s, s.crossval.folds if folds is None else folds,
                                  resolve_device(s.train.device))

    def save(self, path: str | os.PathLike) -> None:
        """The forecasting model as one typed, versioned file (the forecast stage's models/forecast.pt), which
        ``Forecaster.load`` and ``python -m pipeline.predict --model`` read."""
        if self._future is None:
            self._need_fit("save")
        self._forecasting_model()[0].save(path)

    @classmethod
    def load(cls, path: str | os.PathLike, **sections: dict[str, Any]) -> Forecaster:
        """A Forecaster that forecasts with a saved model (from ``save`` or the forecast stage): ``predict`` only."""
        out = cls(**sections)
        with param_errors("load"):
            out._future = (FutureModel.load(path), None)
        return out

    def _series(self, df: pd.DataFrame, id_col: str, time_col: str, target_col: str):
        try:
            return frame_series(df, id_col, time_col, target_col, self.settings.ingest)
        except ArgumentError as err:
            if err.name in ("df", "time_col", "target_col"):
                raise
            raise UserError(f"ingest.{err.name}={err.value!r}: {err.reason}") from None

    def _need_fit(self, what: str) -> Fitted:
        if self._fitted is None:
            raise ArgumentError("Forecaster", "not fitted", f"{what} needs fit(df) first")
        return self._fitted

    def _assess(self) -> tuple[dict, dict]:
        if self._assessed is None:
            f, s = self._need_fit("backtest"), self.settings
            evaluate, _ = s.evaluate.resolve_season(f.info.freq)
            with torch_work(1), param_errors("evaluate", EVALUATE_KEYS):
                self._assessed = assess(f.frame, f.norm, f.index, f.result.model, f.meta.strategy, evaluate,
                                        resolve_device(s.evaluate.device))
        return self._assessed

    def _forecasting_model(self) -> tuple[FutureModel, Honesty | None]:
        if self._future is None:
            f, s = self._need_fit("predict"), self.settings
            steps, evaluate, lines = plan_future(s.forecast, s.evaluate, f.norm, f.index, f.meta.strategy)
            for line in lines:
                log.info("%s", line)
            refit = s.train if s.forecast.refit == "all" else None
            with torch_work(s.train.threads), param_errors("train", FORECAST_KEYS):
                self._future = make_future(f.result.model, f.meta, f.series, f.info.freq, f.info.column, f.norm,
                                           f.index, evaluate, s.forecast.levels, steps, refit,
                                           resolve_device(s.train.device), _plain(f.uid))
        return self._future
