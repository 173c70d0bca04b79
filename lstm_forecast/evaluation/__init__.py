"""Scoring forecasts: metrics, baselines, backtests, conformal intervals, significance, cross-validation."""
