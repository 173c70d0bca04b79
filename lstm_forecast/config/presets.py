"""Named configurations beside the defaults: each a set of params.yaml keys to override (section -> key -> value).

The params dataclasses' defaults are params.yaml's values, chosen on the panel (docs/panel.md). ``REFERENCE`` is
the TensorFlow 1 tutorial's configuration, the one README's "The reference" runs with ``dvc exp run -n reference``
(tests/test_defaults.py checks that line against this dict, key for key)."""
from __future__ import annotations

import json

# Levels, 96 steps in, no calendar inputs, 2 x 8 units, Adam at 0.006, batch 7, 100 epochs (no early stopping)
# over every window, one seed, no highway, a split conformal interval.
REFERENCE: dict[str, dict[str, object]] = {
    "normalize": {"difference": False},
    "window": {"time_step": 96, "calendar": []},
    "train": {"hidden_size": 8, "lr": 0.006, "batch_size": 7, "epochs": 100, "patience": 0, "steps_per_epoch": 0,
              "ensemble": 1, "highway": False},
    "evaluate": {"interval_method": "split"},
}


def reference_overrides() -> list[str]:
    """``REFERENCE`` as `dvc exp run -S` values, in order: ``["normalize.difference=false", ...]``."""
    return [f"{section}.{key}={_yaml(value)}" for section, keys in REFERENCE.items() for key, value in keys.items()]


def _yaml(value: object) -> str:
    # -S parses its value as YAML: true/false and [] as YAML writes them; a plain word or number as it is.
    return value if isinstance(value, str) else json.dumps(value)
