"""Accuracy over the twelve-series panel: every model's MASE per series, and a summary over series.

Per series also the LSTM's Diebold-Mariano p-value against the best baseline and its interval coverage.

    .venv/bin/python bench/accuracy.py                        # the whole panel, test scores (~11 min, 2 cores)
    .venv/bin/python bench/accuracy.py --split val            # validation scores: the ones to choose defaults by
    .venv/bin/python bench/accuracy.py --series a10 qcement -S train.epochs=3 --json /tmp/accuracy.json
    .venv/bin/python bench/accuracy.py --split val --inject-outlier 1000 -S normalize.outliers=keep

Each series goes through the real ingest stage (a subprocess) and then normalize, window, train and evaluate
as the pipeline would run them (lstm_forecast.evaluation.folds.score_split), with params.yaml's current sections, the
panel's season per series, the -S overrides, and a stride that keeps each scored split to --max-origins.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_forecast.errors import USER_ERROR_EXIT, UserError, param_errors  # noqa: E402
from lstm_forecast.parallel import WORKERS_ENV  # noqa: E402
from lstm_forecast.config.params import load_section, parse_section  # noqa: E402
from lstm_forecast.config.evaluate import EvaluateParams  # noqa: E402
from lstm_forecast.config.normalize import NormalizeParams  # noqa: E402
from lstm_forecast.config.train import TrainParams  # noqa: E402
from lstm_forecast.config.window import WindowParams  # noqa: E402
from lstm_forecast.prep.splits import split_bounds, window_origins  # noqa: E402
from bench.panel_data import ingest, ingest_settings, inject_outlier  # noqa: E402
from bench.panel_summary import summarise, summary_lines, table  # noqa: E402

SECTIONS = {"normalize": NormalizeParams, "window": WindowParams, "train": TrainParams, "evaluate": EvaluateParams}
# How score_split's ArgumentErrors name their params key (as crossval reports them).
KEYS = {"window": "evaluate.interval_window", "season": "evaluate.season", "level": "evaluate.interval",
        "lstm_kernel": "train.lstm_kernel", "method": "normalize.method", "baselines": "evaluate.baselines",
        "stride": "evaluate.stride"}


def stride_for(rows: int, normalize: NormalizeParams, window: WindowParams, evaluate: EvaluateParams,
               max_origins: int) -> int:
    """``evaluate.stride``, raised so that neither scored split has more than ``max_origins`` origins (0: no
    limit)."""
    stride = 1 if evaluate.stride == "auto" else evaluate.stride
    splits = split_bounds(rows, (normalize.train, normalize.val, normalize.test))
    time_step = window.input_length(evaluate.season, splits["train"][1] - splits["train"][0])
    origins = window_origins(rows, splits, time_step, window.horizon)
    longest = max(origins[s][1] - origins[s][0] for s in ("val", "test"))
    return max(stride, -(-longest // max_origins) if max_origins else 1)


def override(params, section: str, changes: dict):
    """``params`` with ``changes`` (key: value), checked together as params.yaml's section is (unknown key,
    type, range): normalize.train and normalize.val change at once."""
    raw = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    raw = {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}
    return parse_section(type(params), section, raw | changes)


def parse_overrides(texts: list[str]) -> dict[str, dict]:
    """``section.key=value`` each (the value read as YAML) as {section: {key: value}}; a later one wins."""
    out: dict[str, dict] = {section: {} for section in SECTIONS}
    for text in texts:
        name, sep, value = text.partition("=")
        section, dot, key = name.partition(".")
        if not sep or not dot or section not in SECTIONS:
            raise UserError(f"-S {text!r}: expected section.key=value with a section of {', '.join(SECTIONS)}")
        out[section][key] = yaml.safe_load(value)
    return out


# ---- one series, in a worker process -----------------------------------------------------------------

def run_series(entry: dict, panel: Path, base: dict, overrides: dict, max_origins: int,
               outlier: float = 0.0) -> dict:
    """One series: its settings, every val_/test_ score, seconds, or the one-line reason it failed. ``outlier``:
    a factor for ``inject_outlier`` (0: the series as it is)."""
    import torch

    from lstm_forecast.evaluation.folds import score_split
    from lstm_forecast.model.network import resolve_device
    from lstm_forecast.model.training import Diverged

    torch.set_num_threads(1)
    started = time.perf_counter()
    ingested, why = ingest_settings(panel / entry["file"], entry.get("frequency"))
    out: dict = {"settings": {"ingest": ingested, "freq_none_because": why}}
    try:
        with tempfile.TemporaryDirectory() as work, contextlib.redirect_stderr(io.StringIO()) as err:
            frame, freq = ingest(panel / entry["file"], ingested, Path(work))
            out["settings"]["rows"] = len(frame)
            # The panel's season, unless -S evaluate.season says otherwise (auto: from the ingested frequency).
            own = {"evaluate": {"season": entry.get("season", 1)}}
            params = {s: override(p, s, own.get(s, {}) | overrides[s]) for s, p in base.items()}
            params["evaluate"], line = params["evaluate"].resolve_season(freq)
            if line is not None:
                out["settings"]["season_auto"] = line
            with param_errors("window", KEYS):
                stride = stride_for(len(frame), params["normalize"], params["window"], params["evaluate"],
                                    max_origins)
                params["evaluate"] = override(params["evaluate"], "evaluate", {"stride": stride})
                out["settings"] |= {s: dataclasses.asdict(p) for s, p in params.items()}
                with param_errors("train"):
                    device = resolve_device(params["train"].device)
                splits = split_bounds(len(frame), (params["normalize"].train, params["normalize"].val,
                                                   params["normalize"].test))
                if outlier:
                    frame = inject_outlier(frame, outlier, params["normalize"].train)
                out["results"] = score_split(frame, splits, device=device, freq=freq, **params)
    except Diverged as exc:
        out["error"] = f"{exc}; lower train.lr"
    except UserError as exc:
        out["error"] = str(exc)
    if err.getvalue():
        out["stderr"] = err.getvalue()
    out["seconds"] = time.perf_counter() - started
    return out


# ---- printing ----------------------------------------------------------------------------------------

def settings_line(name: str, run: dict) -> str:
    s = run["settings"]
    freq = f"freq {s['ingest']['freq']}" + (f" ({s['freq_none_because']})" if s["freq_none_because"] else "")
    line = f"{name:<13} " + (f"{s['rows']} rows, " if "rows" in s else "") + freq
    if "evaluate" in s:
        line += f", season {s['evaluate']['season']}{' (auto)' if 'season_auto' in s else ''}"
        line += f", stride {s['evaluate']['stride']}"
    if "results" in run:
        line += f" ({run['results']['val_points']} val / {run['results']['test_points']} test origins)"
    return line + f"; {run['seconds']:.1f} s" + (f"; error: {run['error']}" if "error" in run else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", type=Path, default=ROOT.parent / "shared" / "data" / "panel",
                        help="folder of panel.json and its files (default: ../shared/data/panel)")
    parser.add_argument("--series", nargs="+", help="these series of panel.json only")
    parser.add_argument("--split", choices=("val", "test"), default="test", help="the scores to show")
    parser.add_argument("-S", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a params.yaml key for every series (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="series run in parallel, one torch thread each")
    parser.add_argument("--max-origins", type=int, default=300, help="most origins per scored split; 0: no limit")
    parser.add_argument("--json", type=Path, help="write every series' settings and results here")
    parser.add_argument("--inject-outlier", type=float, default=0.0, metavar="FACTOR",
                        help="set the middle of each training span to FACTOR times the largest absolute value (a typing "
                             "error), to judge normalize.outliers; 0: no")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.max_origins < 0:
        parser.error(f"--jobs {args.jobs} should be >= 1 and --max-origins {args.max_origins} >= 0")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: no folder {args.json.parent}")
    try:
        panel = json.loads((args.panel / "panel.json").read_text())
        unknown = sorted(set(args.series or ()) - set(panel))
        if unknown:
            raise UserError(f"--series: {', '.join(unknown)} not in {args.panel / 'panel.json'} "
                            f"(it has {', '.join(panel)})")
        missing = [panel[n]["file"] for n in panel if not (args.panel / panel[n]["file"]).is_file()]
        if missing:
            raise UserError(f"{args.panel / 'panel.json'} names files that are not there: {', '.join(missing)}")
        base = {s: load_section(cls, s, ROOT / "params.yaml") for s, cls in SECTIONS.items()}
        overrides = parse_overrides(args.overrides)
        # Checked here once, so that a typo fails before any series runs.
        checked = {s: override(p, s, overrides[s]) for s, p in base.items()}
    except (UserError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR_EXIT
    names = [n for n in panel if not args.series or n in args.series]
    print(f"accuracy over {len(names)} series of {args.panel}, {args.split} scores, {args.jobs} job(s); "
          f"params.yaml{''.join(' -S ' + o for o in args.overrides)}", flush=True)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # one core per job
        os.environ.setdefault(var, "1")
    started, runs = time.perf_counter(), {}
    # The series are the parallel work here: each series' process runs its own members and baselines one
    # after the other (lstm_forecast.parallel), so that --jobs processes share the cores, no more.
    os.environ[WORKERS_ENV] = "1"
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_series, panel[n], args.panel, base, overrides, args.max_origins,
                               args.inject_outlier): n
                   for n in sorted(names, key=lambda n: -panel[n].get("rows", 0))}  # longest first
        try:
            for future in as_completed(futures):
                runs[futures[future]] = future.result()  # a bug raises here, with the worker's traceback
                print(settings_line(futures[future], runs[futures[future]]), flush=True)
        except BaseException:  # a bug or Ctrl-C: the series not started yet are not run
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    total = time.perf_counter() - started
    runs = {n: runs[n] for n in names}
    print()
    print("\n".join(table(runs, args.split)))
    print("persist: persistence, snaive: seasonal_naive, ets/arima/theta: auto_*; best: the best baseline; "
          "DM p: LSTM vs best;\ncov: the LSTM's interval coverage; s: seconds\n")
    done = {n: run["results"] for n, run in runs.items() if "results" in run}
    interval = checked["evaluate"].interval
    print("\n".join(summary_lines(summarise(done, args.split), len(runs) - len(done), interval)))
    seconds = [run["seconds"] for run in runs.values()]
    print(f"time: {sum(seconds) / len(seconds):.1f} s per series (mean), {total:.1f} s in total with {args.jobs} "
          "job(s)")
    if args.json:
        record = {"split": args.split, "overrides": args.overrides, "max_origins": args.max_origins, "series": runs}
        args.json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
