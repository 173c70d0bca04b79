"""The library the pipeline's stages share: nothing here imports a stage module (pipeline/<stage>.py)."""
