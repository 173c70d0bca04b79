"""User-facing errors, an argument that does not fit the data, and the training loop's stop on Ctrl-C.

What a stage adds around them (the one-line report, the exit code, SIGTERM, "rerun dvc repro") is the stage
edge's: pipeline/edge.py."""
from __future__ import annotations

import contextlib
import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

# Exit status for a user's mistake (bad file, bad param, data too short); argparse uses 2 too.
USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake the user can fix: reported as one line, never with a traceback."""


class StaleArtifact(UserError):
    """A file written by another layout version of this code: it says which, and what this code reads; how to
    regenerate the file is the caller's to say (a stage adds "rerun dvc repro")."""


class ArgumentError(ValueError):
    """A library function's argument does not fit the data, said in the function's own terms.

    The stage that passed the argument knows which params key it came from: ``param_errors`` turns this
    into the user's one-line error naming ``section.key``.
    """

    def __init__(self, name: str, value: object, reason: str):
        super().__init__(f"{name}={value!r}: {reason}")
        self.name, self.value, self.reason = name, value, reason


@contextlib.contextmanager
def param_errors(section: str, keys: dict[str, str] | None = None, hint: str = "") -> Iterator[None]:
    """Report an ArgumentError raised inside as ``section.key=value: reason[; hint]``; ``keys`` maps an
    argument's name to its key where the two differ (``{"level": "interval"}``), or to a key of another
    section (``{"lstm_kernel": "train.lstm_kernel"}``)."""
    try:
        yield
    except ArgumentError as err:
        key = (keys or {}).get(err.name, err.name)
        key = key if "." in key else f"{section}.{key}"
        raise UserError(f"{key}={err.value!r}: {err.reason}{'; ' + hint if hint else ''}") from None


class Interrupted(BaseException):
    """The run was stopped by a signal. ``exit_code`` follows the shell's 128 + signal number.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way swallows it."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class StopAfterBatch:
    """Ctrl-C during training sets ``requested``; the loop calls ``check`` after each batch and stops there.
    A second Ctrl-C interrupts at once (the handler that was there before is restored on the first)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> StopAfterBatch:
        # Signal handlers live on the main thread; a run started with SIGINT ignored (nohup, &) keeps ignoring it.
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def check(self, where: str) -> None:
        """Stop here if Ctrl-C was pressed; ``where`` says how far the run got."""
        if self.requested:
            raise Interrupted(f"interrupted (Ctrl-C) {where}; nothing was saved", signal.SIGINT)


# moved to pipeline/edge.py; removed once every stage imports it from there
RERUN = "(dvc repro reruns the stage)"
NOTHING_HALF_WRITTEN = f"no output was left half-written {RERUN}"
STALE_ADVICE = "rerun the pipeline to regenerate it: dvc repro"


class _ShortNames(logging.Formatter):
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


def stage_main(func: Callable[[Sequence[str] | None], None]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a stage's ``main``: set up logging, report a UserError or an interruption as one line, return
    the exit code. Outputs are written through ``files.atomic_path``, so a stop leaves none half-written.

    Any other exception is a bug and propagates with its traceback.
    """

    @functools.wraps(func)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        if not logging.getLogger().handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_ShortNames())
            logging.basicConfig(level=logging.INFO, handlers=[handler])
        previous = signal.signal(signal.SIGTERM, _terminated)
        # While the stage works, Ctrl-C raises KeyboardInterrupt (StopAfterBatch may take it over) and the
        # stage's `finally` blocks clean up before the line below; back in place afterwards, so that a Ctrl-C
        # while the interpreter exits is one line too. pipeline/__init__.py installs pipeline.edge's handler.
        start_handler = signal.getsignal(signal.SIGINT)
        starting = getattr(start_handler, "__name__", None) == "interrupted_while_starting"
        if starting:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            func(argv)
        except StaleArtifact as err:
            print(f"error: {err}; {STALE_ADVICE}", file=sys.stderr)
            return USER_ERROR_EXIT
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
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
                signal.signal(signal.SIGINT, start_handler)
        return 0

    return wrapper
