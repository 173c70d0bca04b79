"""The same bytes on any x86-64 machine: the libraries' CPU-specific code paths, pinned to one that every
x86-64 CPU runs.

Torch, MKL, oneDNN, NumPy and OpenBLAS each pick kernels by the instruction set of the CPU they run on
(AVX-512, AVX2, SSE), and the kernels differ in the last bits of their results: fused multiply-adds
(torch's Adam arithmetic, ``lerp``/``addcmul``), the lane count of vectorised sums (the loss), the blocking
of matrix products. One bit moves a training trajectory, and the committed metrics then differ between
two machines by up to 9% in the last epoch's loss (docs/performance.md). Each library reads an environment
variable that caps or fixes its choice; ``pin`` sets them all before the libraries load. lstm_cpu.c needs
none of this: its results are the same bits for every build target (tests/test_lstm_cpu.py).

The stages pin (pipeline/__init__.py), at a cost measured by bench/runs.py --numerics. The library does not
change a notebook's environment: call ``pin()`` before importing numpy or torch for the stages' bytes there.
``LSTM_FORECAST_NUMERICS=native`` leaves every library its fastest path (results may then differ in their
last digits from machine to machine).
"""
from __future__ import annotations

import os
import sys

from lstm_forecast.errors import UserError

MODE_ENV = "LSTM_FORECAST_NUMERICS"
MODES = ("portable", "native")

# Each library's own switch, set to a code path every x86-64-v2 CPU (SSE4.2, 2009 on) runs the same way.
PORTABLE = {
    "ATEN_CPU_CAPABILITY": "default",  # torch's CPU kernels: the build's baseline, not AVX2 / AVX-512
    "MKL_CBWR": "COMPATIBLE",  # MKL (torch's matrix products): conditional bitwise reproducibility
    "ONEDNN_MAX_CPU_ISA": "SSE41",  # oneDNN (torch's own LSTM, lstm_kernel: torch)
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's dispatched loops (exp, log, ...)
    "OPENBLAS_CORETYPE": "Nehalem",  # OpenBLAS (NumPy's and SciPy's linear algebra; the statistical models)
}
# What loads them: pinning after any of these is too late for that library.
LIBRARIES = ("numpy", "torch", "scipy")


def mode() -> str:
    """``$LSTM_FORECAST_NUMERICS``: portable (the default, also for a value ``check`` refuses) or native."""
    value = os.environ.get(MODE_ENV, "").strip().lower()
    return value if value in MODES else "portable"


def check() -> None:
    """A UserError naming the variable when ``$LSTM_FORECAST_NUMERICS`` is neither empty nor one of MODES."""
    value = os.environ.get(MODE_ENV, "")
    if value.strip() and value.strip().lower() not in MODES:
        raise UserError(f"${MODE_ENV}={value!r} is not a numerics mode; use portable (the default: the same "
                        f"bytes on every x86-64 machine) or native (each library's fastest code path)")


def pin() -> list[str]:
    """Set PORTABLE's variables (unless ``$LSTM_FORECAST_NUMERICS`` is native), overriding what the
    environment says. Returns the libraries already imported, for which it came too late."""
    if mode() == "native":
        return []
    os.environ.update(PORTABLE)
    return [name for name in LIBRARIES if name in sys.modules]


def main(argv: list[str]) -> None:
    """``python -m lstm_forecast.numerics MODULE [ARGS...]``: run ``python -m MODULE ARGS...`` pinned from its
    first line (``make test`` runs pytest so: its plugins load numpy before any conftest could pin it)."""
    import runpy

    if not argv:
        raise SystemExit("usage: python -m lstm_forecast.numerics MODULE [ARGS...]")
    pin()
    sys.argv = [argv[0], *argv[1:]]
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
