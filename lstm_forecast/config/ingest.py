"""The params of the ingest stage (section `ingest` of params.yaml): which file, sheet and columns hold the
series, and how its rows are read."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lstm_forecast.config.params import require
from lstm_forecast.data.calendar import known_freq
from lstm_forecast.data.reading import FORMATS


@dataclass(frozen=True)
class IngestParams:
    # The file has no default: a series is always someone's own (the ingest stage requires one; a DataFrame given
    # to the Forecaster needs none). params.yaml names the shipped sheet and column.
    path: str | None = None
    sheet: str | None = None
    column: str | None = None
    time_column: str | None = None
    start: int | None = None
    stop: int | None = None
    missing: Literal["error", "interpolate", "drop"] = "error"
    sort: bool = False
    freq: str = "auto"
    sep: str | None = None
    decimal: Literal[".", ","] | None = None
    header_row: int = 1

    def validate(self) -> None:
        suffix = Path(self.path or "").suffix.lower()
        require(self.path is None or suffix in FORMATS,
                f"ingest.path={self.path!r}: unsupported file type '{suffix}'; use one of {', '.join(FORMATS)}")
        require(self.start is None or self.start >= 0, f"ingest.start={self.start} should be >= 0")
        require(self.stop is None or self.stop >= 1, f"ingest.stop={self.stop} should be >= 1")
        if self.start is not None and self.stop is not None:
            require(self.start < self.stop, f"ingest.start={self.start} should be smaller than ingest.stop={self.stop}")
        require(self.header_row >= 1, f"ingest.header_row={self.header_row} should be >= 1 (the row of the headers)")
        require(self.sep is None or len(self.sep) == 1, f"ingest.sep={self.sep!r} should be one character, such as "
                "',' ';' or a tab, or null to detect it")
        require(known_freq(self.freq), f"ingest.freq={self.freq!r} is not a pandas frequency alias (such as 'MS', "
                "'W-MON', 'D', 'B', 'h', 'bh', '30min'); or use 'auto' or 'none'")
