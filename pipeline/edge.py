"""The stage edge: what every stage adds around the library when DVC runs it. Its log lines, SIGINT and SIGTERM,
a user's mistake or a stop as one line and an exit code, the advice that only a DVC project can give ("rerun
dvc repro"), and matplotlib's file-only backend. The library (lstm_forecast/) assumes none of this: a notebook keeps its own logging and
Ctrl-C, and writes wherever it is told.

Only the standard library, lstm_forecast.errors, .numerics and .parallel: pipeline/__init__.py imports this
before a stage's own imports, which take seconds (torch), and before numpy or torch is loaded.
"""
from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence

from lstm_forecast import numerics, parallel
from lstm_forecast.errors import USER_ERROR_EXIT, Interrupted, MissingInput, StaleArtifact, UserError

RERUN = "(dvc repro reruns the stage)"
NOTHING_HALF_WRITTEN = f"no output was left half-written {RERUN}"
# The stages draw files only (plot, forecast): no display on CI machines or under dvc repro. Set before any
# matplotlib import (pipeline/__init__.py imports this module first), without importing matplotlib here.
os.environ["MPLBACKEND"] = "Agg"
# After a StaleArtifact's own words (the file, the layout it was written in, the layout this code reads).
STALE_ADVICE = "rerun the pipeline to regenerate it: dvc repro"


class ShortNames(logging.Formatter):
    """``name: message``, the logger's name cut to its last part: the stage's own logger is named like the stage
    (``train: ensemble of 2``), the library's are named by module (``lstm_forecast.model.progress`` reads
    ``progress: member 1 of 2, epoch 3 of 50``)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return f"{record.name.rpartition('.')[2]}: {record.message}"


def _terminated(signum: int, frame: object) -> None:
    # Raised wherever the interpreter is, so every `finally` (temporary files) runs on the way out.
    raise Interrupted(f"stopped by {signal.Signals(signum).name}; no output was left half-written", signum)


def interrupted_while_starting(signum: int, frame: object) -> None:
    """SIGINT handler for a stage's first seconds, installed by pipeline/__init__.py before the stage's imports
    (torch alone takes seconds): one line and 130, not the traceback of whatever import was running.
    ``stage_main`` swaps it for Python's own while the stage works, so that KeyboardInterrupt reaches it."""
    print(f"error: interrupted (Ctrl-C); {NOTHING_HALF_WRITTEN}", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)  # not os._exit: a `finally` on the way still runs


# After a MissingInput's own words (the file that is not there).
MISSING_ADVICE = "run the upstream stage first: dvc repro"


def user_message(err: UserError) -> str:
    """The one line a stage prints for ``err``: its own words, and for a stale or missing input file how to
    make it."""
    if isinstance(err, StaleArtifact):
        return f"{err}; {STALE_ADVICE}"
    return f"{err}; {MISSING_ADVICE}" if isinstance(err, MissingInput) else str(err)


def stage_main(func: Callable[[Sequence[str] | None], None]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a stage's ``main``: set up logging, report a UserError or an interruption as one line, return
    the exit code. Outputs are written through ``files.atomic_path``, so a stop leaves none half-written.

    Any other exception is a bug and propagates with its traceback.
    """

    @functools.wraps(func)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        if not logging.getLogger().handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(ShortNames())
            logging.basicConfig(level=logging.INFO, handlers=[handler])
        previous = signal.signal(signal.SIGTERM, _terminated)
        # While the stage works, Ctrl-C raises KeyboardInterrupt (StopAfterBatch may take it over) and the
        # stage's `finally` blocks clean up before the line below; back in place afterwards, so that a Ctrl-C
        # while the interpreter exits is one line too.
        starting = signal.getsignal(signal.SIGINT) is interrupted_while_starting
        if starting:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            numerics.check()
            parallel.workers()  # a bad $LSTM_FORECAST_WORKERS is one line before any work
            func(argv)
        except UserError as err:
            print(f"error: {user_message(err)}", file=sys.stderr)
            return USER_ERROR_EXIT
        except Interrupted as err:
            print(f"error: {err} {RERUN}", file=sys.stderr)
            return err.exit_code
        except KeyboardInterrupt:
            print(f"error: interrupted (Ctrl-C); {NOTHING_HALF_WRITTEN}", file=sys.stderr)
            return 128 + signal.SIGINT
        finally:
            signal.signal(signal.SIGTERM, previous)
            if starting:
                signal.signal(signal.SIGINT, interrupted_while_starting)
        return 0

    return wrapper
