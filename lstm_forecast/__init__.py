"""LSTM forecasting with honest evaluation: ``from lstm_forecast import Forecaster`` (lstm_forecast.api).

The subpackages follow the data: config (params), data (reading a series), prep (scaling, windows), model
(the LSTM, training), evaluation (baselines, backtests, intervals), future (forecasts with bands). Nothing
here imports a stage script (pipeline/<stage>.py)."""
from __future__ import annotations

__all__ = ["Forecaster"]


def __getattr__(name: str):
    # Imported on first use: a stage importing one submodule (ingest reads a file, no torch) pays for no more.
    if name == "Forecaster":
        from lstm_forecast.api import Forecaster

        return Forecaster
    raise AttributeError(f"module 'lstm_forecast' has no attribute {name!r}")
