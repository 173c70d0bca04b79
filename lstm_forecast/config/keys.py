"""What the library's arguments are called in params.yaml, where the two differ: the stages' one-line errors
and the Forecaster's name the key (``lstm_forecast.errors.param_errors``)."""

# What a crossval fold's library arguments are called in params.yaml (a fold rebuilds normalize, window, train
# and evaluate; an unmapped name is window's): crossval's one-line errors and the Forecaster's.
FOLD_KEYS = {"window": "evaluate.interval_window", "season": "evaluate.season", "level": "evaluate.interval",
             "lstm_kernel": "train.lstm_kernel", "method": "normalize.method", "baselines": "evaluate.baselines",
             "stride": "evaluate.stride", "batch_size": "train.batch_size", "device": "train.device",
             "folds": "crossval.folds"}


# What the evaluate stage's and the forecast stage's library arguments are called in params.yaml (evaluate's
# section for evaluate's, train's for forecast's unless named): the stages' one-line errors and the Forecaster's.
EVALUATE_KEYS = {"window": "interval_window", "lstm_kernel": "train.lstm_kernel", "level": "interval"}
FORECAST_KEYS = {"calendar": "window.calendar", "window": "evaluate.interval_window", "level": "forecast.levels",
                 "device": "train.device", "lstm_kernel": "train.lstm_kernel"}
