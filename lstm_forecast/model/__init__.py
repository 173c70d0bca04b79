"""The LSTM: the network, its C kernel, training, checkpoints, forecasts and the ONNX export."""
