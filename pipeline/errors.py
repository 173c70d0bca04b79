"""User-facing errors and the wrapper that turns them into one line and an exit code."""
from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Sequence

# Exit status for a user's mistake (bad file, bad param, data too short); argparse uses 2 too.
USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake the user can fix: reported as one line, never with a traceback."""


def stage_main(func: Callable[[Sequence[str] | None], None]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a stage's ``main``: set up logging, report a UserError as one line, return the exit code.

    Any other exception is a bug and propagates with its traceback.
    """

    @functools.wraps(func)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
        try:
            func(argv)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            return USER_ERROR_EXIT
        return 0

    return wrapper
