"""A reproducible LSTM forecasting pipeline: one module per DVC stage.

Run as ``python -m pipeline.<stage>``, Python imports this package before the stage's own imports, which take
seconds (torch): a Ctrl-C then would print the traceback of whatever import was running. So that a Ctrl-C at
any moment is one line and exit 130, the SIGINT handler is set here, and only then: a test or a notebook that
imports a stage keeps its own handling of Ctrl-C. For the same reason of timing, the libraries' CPU code
paths are pinned here (lstm_forecast/numerics.py), before numpy and torch load.
"""
import signal
import sys

from lstm_forecast import numerics
from pipeline.edge import interrupted_while_starting


def _run_module() -> str | None:
    """The module of ``python -m <module>`` while Python is still locating it (sys.argv[0] is "-m" only until
    the module runs), else None."""
    if sys.argv[:1] != ["-m"]:
        return None
    args = sys.orig_argv[1:]
    for i, arg in enumerate(args):
        if arg == "-m":
            return args[i + 1] if i + 1 < len(args) else None
        if arg.startswith("-m"):
            return arg[2:]
    return None


if (_run_module() or "").startswith(f"{__name__}."):
    # The same bytes on any x86-64 machine: every library's CPU-specific code path pinned before numpy and
    # torch load (lstm_forecast/numerics.py).
    numerics.pin()
    # A run started with SIGINT ignored (nohup, &) keeps ignoring it.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupted_while_starting)
