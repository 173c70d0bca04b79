"""Forecasts past the end of the series, with calibrated bands."""
