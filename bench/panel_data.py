"""A panel series as the accuracy benchmark feeds it (bench/accuracy.py): the ingest section for its file,
the series read by the real ingest stage, and an injected typing error for judging normalize.outliers."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import yaml

from lstm_forecast.errors import USER_ERROR_EXIT, UserError
from lstm_forecast.config.params import read_params_file

ROOT = Path(__file__).resolve().parents[1]


def ingest_settings(file: Path, frequency: str | None) -> tuple[dict, str]:
    """The ingest section for a panel file, and why freq is 'none' where it is ('' otherwise)."""
    from pandas.tseries.frequencies import to_offset

    header = file.open(encoding="utf-8").readline().strip().split(",")
    time_column = next((c for c in ("time", "step") if c in header), None)
    why = ""
    if frequency is not None:
        try:
            with warnings.catch_warnings():  # pandas warns about words it half-knows ('business') before refusing
                warnings.simplefilter("ignore")
                to_offset(frequency)
        except ValueError:
            why = f"panel.json's frequency {frequency!r} is no calendar: rows taken as consecutive steps"
    return {"path": str(file), "sheet": None, "column": "value", "time_column": time_column,
            "freq": "none" if why else "auto"}, why


def ingest(file: Path, settings: dict, work: Path):
    """The series as the ingest stage reads it, with params.yaml's ingest section but for ``settings``."""
    from lstm_forecast.data.artifacts import SeriesInfo
    from lstm_forecast.data.files import read_parquet

    section = (read_params_file(ROOT / "params.yaml").get("ingest") or {}) | settings
    (work / "params.yaml").write_text(yaml.safe_dump({"ingest": section}))
    proc = subprocess.run([sys.executable, "-m", "pipeline.ingest", "--params", "params.yaml",
                           "--out", "data/series.parquet", "--info", "data/series.json"],
                          cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    if proc.returncode == USER_ERROR_EXIT:
        raise UserError(proc.stderr.strip().splitlines()[-1].removeprefix("error: "))
    if proc.returncode != 0:
        raise RuntimeError(f"ingest of {file} failed (exit {proc.returncode}):\n{proc.stderr}")
    return read_parquet(work / "data" / "series.parquet"), SeriesInfo.read(work / "data" / "series.json").freq


def inject_outlier(frame, factor: float, train: float):
    """``frame`` with the value in the middle of its training span replaced by ``factor`` times the largest
    absolute value: a typing error (a number with three zeros too many), for judging normalize.outliers."""
    frame = frame.copy()
    position = int(len(frame) * train) // 2
    frame.loc[position, "value"] = factor * frame["value"].abs().max()
    return frame
