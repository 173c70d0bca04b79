"""Checkpoints: the network's weights, the config that rebuilds it and how it was trained (CheckpointMeta)."""
from __future__ import annotations

import os
import pickle
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from lstm_forecast.data.artifacts import CheckpointMeta, WindowIndex
from lstm_forecast.errors import ArgumentError, MissingInput, StaleArtifact
from lstm_forecast.data.files import atomic_path
from lstm_forecast.model.network import Ensemble, LSTMForecaster, ModelConfig

RETRAIN = "retrain it"


def save_checkpoint(path: str | os.PathLike, model: Ensemble | LSTMForecaster, meta: CheckpointMeta,
                    forecaster: dict[str, Any] | None = None) -> None:
    """Save the state dict with the config that rebuilds it (plain types only, so weights_only loading works).
    A single network is saved as an ensemble of one. ``forecaster``: what the forecast stage adds for
    ``pipeline.predict`` (the scaler, the calendar, the bands), plain types too."""
    if isinstance(model, LSTMForecaster):
        model = Ensemble([model])
    # Each tensor its own compact copy: the file's bytes then do not depend on how the weights lie in memory
    # (views into training's flat buffer, or a worker's separate tensors).
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    # Through a file object: given a path, torch.save records that path's name inside the zip archive, and
    # the random temporary name would make every checkpoint's bytes differ.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        ckpt = {"config": asdict(model.config), "members": len(model.members), "state_dict": state,
                "meta": meta.to_json()}
        torch.save(ckpt if forecaster is None else ckpt | {"forecaster": forecaster}, f)


def load_checkpoint(path: str | os.PathLike) -> tuple[Ensemble, CheckpointMeta]:
    """Rebuild the model a checkpoint describes. ``weights_only=True``: unpickling runs no code from the file."""
    model, meta, _ = load_forecaster(path)
    return model, meta


def load_forecaster(path: str | os.PathLike) -> tuple[Ensemble, CheckpointMeta, dict[str, Any] | None]:
    """``load_checkpoint``, and what the forecast stage saved beside the model (None in train's checkpoint)."""
    p = Path(path)
    if not p.is_file():
        raise MissingInput(f"{p}: checkpoint not found")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict):
            raise TypeError(f"it holds a {type(ckpt).__name__}, not a dict with config and state_dict")
        meta = CheckpointMeta.from_json(ckpt.get("meta"), str(p))
        config = ModelConfig(**ckpt["config"])
        state = ckpt["state_dict"]
        model = Ensemble.build(config, int(ckpt["members"]))
        forecaster = ckpt.get("forecaster")
    except ArgumentError:
        raise  # a ValueError that says what is wrong in its own words, not "not a checkpoint"
    except (pickle.UnpicklingError, RuntimeError, KeyError, TypeError, EOFError, ValueError, AttributeError,
            OSError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StaleArtifact(f"{p}: not a checkpoint of this model ({msg}); {RETRAIN}") from None
    problems = _state_mismatch(model.state_dict(), state)
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        raise StaleArtifact(
            f"{p}: its weights do not fit the model its config describes ({len(model.members)} member(s) of "
            f"hidden_size={config.hidden_size}, num_layers={config.num_layers}, output_size={config.output_size}): "
            f"{'; '.join(problems[:2])}{more}; "
            f"{RETRAIN}"
        )
    model.load_state_dict(state)
    model.eval()
    return model, meta, forecaster


def load_trained_on(model_path: str | os.PathLike, windows_path: str | os.PathLike,
                    index: WindowIndex) -> tuple[Ensemble, CheckpointMeta]:
    """The checkpoint's model, which must have been trained on the windows ``index`` (read from
    ``windows_path``) describes: evaluate's and forecast's check before they use it."""
    model, meta = load_checkpoint(model_path)
    trained = meta.windows_shape()
    wanted = (index.time_step, index.target, index.horizon, index.scale_windows, index.calendar)
    if trained != wanted:
        raise StaleArtifact(
            f"{model_path} was trained on windows of (time_step, target, horizon, scale_windows, calendar) = "
            f"{trained} but {windows_path} has {wanted}; retrain it"
        )
    return model, meta


def _state_mismatch(expected: dict[str, torch.Tensor], found: Any) -> list[str]:
    """What keeps ``found`` from loading into a model whose state dict is ``expected``, one phrase each."""
    if not isinstance(found, dict) or not all(isinstance(v, torch.Tensor) for v in found.values()):
        return ["the state dict is not a mapping of tensors"]
    problems = [f"{k} is missing" for k in expected if k not in found]
    problems += [f"{k} is unexpected" for k in found if k not in expected]
    problems += [
        f"{k} is {list(found[k].shape)} in the file, {list(v.shape)} expected"
        for k, v in expected.items() if k in found and found[k].shape != v.shape
    ]
    return problems
