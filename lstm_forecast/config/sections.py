"""Every section of params.yaml at once: what the library's Forecaster is configured with, read from keyword
arguments (``train={"hidden_size": 32}``) or from a params file, with the stages' own validation."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from lstm_forecast.config.crossval import CrossvalParams
from lstm_forecast.config.evaluate import EvaluateParams
from lstm_forecast.config.forecast import ForecastParams
from lstm_forecast.config.ingest import IngestParams
from lstm_forecast.config.normalize import NormalizeParams
from lstm_forecast.config.params import parse_section, read_params_file
from lstm_forecast.config.plot import PlotParams
from lstm_forecast.config.train import TrainParams
from lstm_forecast.config.window import WindowParams
from lstm_forecast.errors import UserError

# The sections a Forecaster reads, in the order the stages run. ingest's file keys (path, sheet, column) say
# where the pipeline reads its series; a DataFrame given to fit needs none of them, only how rows are read.
CLASSES: dict[str, type] = {"ingest": IngestParams, "normalize": NormalizeParams, "window": WindowParams, "train": TrainParams,
                            "evaluate": EvaluateParams, "crossval": CrossvalParams, "forecast": ForecastParams,
                            "plot": PlotParams}


@dataclass(frozen=True)
class Settings:
    """One frozen dataclass per section."""

    ingest: IngestParams = IngestParams()
    normalize: NormalizeParams = NormalizeParams()
    window: WindowParams = WindowParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    crossval: CrossvalParams = CrossvalParams()
    forecast: ForecastParams = ForecastParams()
    plot: PlotParams = PlotParams()

    @classmethod
    def from_sections(cls, sections: dict[str, Any]) -> Settings:
        """Sections as params.yaml spells them; unset keys take the defaults. Errors are the stages' one line
        naming ``section.key``."""
        unknown = [name for name in sections if name not in CLASSES]
        if unknown:
            raise UserError(f"unknown params section {unknown[0]!r} (valid sections: {', '.join(CLASSES)})")
        values: dict[str, Any] = {}
        for name, raw in sections.items():
            if raw is None:
                continue
            if dataclasses.is_dataclass(raw):
                raw = dataclasses.asdict(raw)
            if not isinstance(raw, dict):
                raise UserError(f"params section '{name}' must be a mapping of keys, got {raw!r}")
            values[name] = parse_section(CLASSES[name], name, raw)
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Settings:
        return cls.from_sections(read_params_file(path))

    def as_sections(self) -> dict[str, dict[str, Any]]:
        """The settings as params.yaml's sections (tuples as lists), e.g. to save beside a model."""
        out = {name: dataclasses.asdict(getattr(self, name)) for name in CLASSES}
        return {name: {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
                for name, section in out.items()}
