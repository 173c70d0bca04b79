"""User-facing errors, an argument that does not fit the data, and the training loop's stop on Ctrl-C.

What a stage adds around them (the one-line report, the exit code, SIGTERM, "rerun dvc repro") is the stage
edge's: pipeline/edge.py."""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

# Exit status for a user's mistake (bad file, bad param, data too short); argparse uses 2 too.
USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake the user can fix: reported as one line, never with a traceback."""


class StaleArtifact(UserError):
    """A file written by another layout version of this code: it says which, and what this code reads; how to
    regenerate the file is the caller's to say (a stage adds "rerun dvc repro")."""


class MissingInput(UserError):
    """An input file is not there: it says which; that an earlier stage writes it is the caller's to say."""


class ArgumentError(ValueError):
    """A library function's argument does not fit the data, said in the function's own terms.

    The stage that passed the argument knows which params key it came from: ``param_errors`` turns this
    into the user's one-line error naming ``section.key``.
    """

    def __init__(self, name: str, value: object, reason: str):
        super().__init__(f"{name}={value!r}: {reason}")
        self.name, self.value, self.reason = name, value, reason

    def __reduce__(self):  # rebuilt from its parts when a worker process sends it back
        return type(self), (self.name, self.value, self.reason)


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

    def __reduce__(self):
        return type(self), (str(self), self.exit_code - 128)


# In a worker process (lstm_forecast.parallel), the event its parent sets when Ctrl-C reached the parent:
# workers ignore SIGINT themselves, and every StopAfterBatch in them reads this instead.
remote_stop = None


class StopAfterBatch:
    """Ctrl-C during training sets ``requested``; the loop calls ``check`` after each batch and stops there.
    A second Ctrl-C interrupts at once (the handler that was there before is restored on the first). In a
    worker process, the parent's Ctrl-C (``remote_stop``) counts as this one's."""

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
        if self.requested or (remote_stop is not None and remote_stop.is_set()):
            raise Interrupted(f"interrupted (Ctrl-C) {where}; nothing was saved", signal.SIGINT)
