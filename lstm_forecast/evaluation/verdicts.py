"""The words of a comparison: which model won each metric on test, and whether the Diebold-Mariano test calls
the difference from the LSTM significant."""
from __future__ import annotations

from lstm_forecast.evaluation.scoring import ALPHA


def verdict(model: str, lstm_rmse: float, other_rmse: float, p: float) -> str:
    """Which of the LSTM and ``model`` is better when the difference is significant, with its p-value; the
    winner is named first ("LSTM better than persistence"), never left to be read off the word order."""
    if p >= ALPHA:
        return f"{model} no significant difference (p {p:.3f})"
    if lstm_rmse < other_rmse:
        return f"LSTM better than {model} (p {p:.3f})"
    return f"{model} better than the LSTM (p {p:.3f})"


def winner(results: dict[str, float], models: list[str], metric: str) -> str:
    """``metric``'s best model on test, and whether it differs significantly from the LSTM (squared errors)."""
    best = min(models, key=lambda m: results[f"test_{m}_{metric}"])
    if best == "lstm":
        return f"{metric} lstm"
    p = results[f"test_lstm_vs_{best}_dm_p"]
    return f"{metric} {best}" + (f" (no significant difference from the LSTM, p {p:.3f})" if p >= ALPHA else "")
