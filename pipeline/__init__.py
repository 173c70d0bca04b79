"""A reproducible LSTM forecasting pipeline: one module per DVC stage."""
