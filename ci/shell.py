"""Run dvc and git from the ci tools, turning a failed command into one clear error."""
from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable, Sequence


class CommandError(Exception):
    """A dvc or git command failed; the message holds the command and what it printed."""


def run(*args: str, capture: bool = True) -> str:
    """Run ``args``; return its stdout (or stream it when ``capture`` is false)."""
    proc = subprocess.run(args, capture_output=capture, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines() if capture else []
        raise CommandError(f"`{' '.join(args)}` exited {proc.returncode}" + (f": {detail[-1]}" if detail else ""))
    return proc.stdout if capture else ""


def untracked_files() -> list[str]:
    """Files git does not track and does not ignore: experiments run on a copy that lacks them."""
    return [line[3:] for line in run("git", "status", "--porcelain").splitlines() if line.startswith("??")]


def git_show_bytes(rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` at ``rev``, or None if it is not there."""
    proc = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True)
    return proc.stdout if proc.returncode == 0 else None


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def command_main(func: Callable[[Sequence[str] | None], int]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a ci tool's ``main``: a dvc or git command that fails becomes one error line and exit 2."""

    @functools.wraps(func)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        try:
            return func(argv)
        except CommandError as err:
            return fail(str(err))

    return wrapper
