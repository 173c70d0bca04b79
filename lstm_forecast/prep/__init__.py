"""From a series to what the model reads: outliers, differencing, scaling, splits, windows, calendar inputs."""
