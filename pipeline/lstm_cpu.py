"""The stacked LSTM of lstm_cpu.c: built with the machine's C compiler on first use, called through ctypes.

At the reference size (hidden 8, batch 7, 96 steps, 2 layers) torch's CPU LSTM (oneDNN) spends most of a
call setting its kernel up; this one does the arithmetic alone, all layers and steps in one call. It is
used for small models only (``suits``): from a hidden size of about 32 on, oneDNN's matrix kernels win.

Each (input size, hidden size) gets its own build, with the sizes as compile-time constants. The shared
libraries are cached per source, sizes, flags, compiler and CPU, under ``$XDG_CACHE_HOME/lstm-forecast``
(default ``~/.cache``); a build takes well under a second. Without a working C compiler ``suits`` says no,
once with a warning, and callers use torch's LSTM.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

log = logging.getLogger("lstm_cpu")

SOURCE = Path(__file__).with_name("lstm_cpu.c")
# -ffp-contract=off: no fused multiply-adds, so the vector width does not change a single result bit.
FLAGS = ["-O3", "-std=gnu11", "-ffp-contract=off", "-fPIC", "-shared"]
# Widest hidden size this kernel runs: at 16 it still trains faster than oneDNN, at 32 it is slower (bench/speed.py).
MAX_HIDDEN = 16
_DTYPES = {torch.float32: "f32", torch.float64: "f64"}

# (inputs, hidden) -> the loaded library, or None where the build failed (it is not tried again).
_libs: dict[tuple[int, int], ctypes.CDLL | None] = {}
_disabled = False


def _cpu_signature() -> str:
    """The CPU's model and feature flags: a library built with -march=native runs only where they match."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags", "Features"))]
    return "\n".join(dict.fromkeys(lines))


def _build(cc: str, inputs: int, hidden: int) -> Path:
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
    flags = [*FLAGS, f"-DINPUTS={inputs}", f"-DHIDDEN={hidden}"]
    flags += ["-march=native"] if platform.machine() in ("x86_64", "AMD64") else []
    key = hashlib.sha256("\0".join([SOURCE.read_text(), *flags, version, _cpu_signature()]).encode()).hexdigest()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lstm-forecast"
    target = cache / f"lstm_cpu-{key[:16]}.so"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place: parallel experiments may build at the same time.
    fd, tmp = tempfile.mkstemp(prefix=".lstm_cpu-", suffix=".so", dir=cache)
    os.close(fd)
    try:
        # An absolute path: the source includes itself by its own name (__FILE__).
        subprocess.run([cc, *flags, str(SOURCE.resolve()), "-o", tmp, "-lm"], capture_output=True, text=True, check=True)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _load(inputs: int, hidden: int) -> ctypes.CDLL | None:
    key = (inputs, hidden)
    if key in _libs:
        return _libs[key]
    _libs[key] = None
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        log.warning("no C compiler (cc) found: small LSTMs run on torch's oneDNN kernel, about half as fast")
        return None
    try:
        lib = ctypes.CDLL(str(_build(cc, inputs, hidden)))
    except (OSError, subprocess.CalledProcessError) as err:
        detail = (getattr(err, "stderr", None) or str(err)).strip()
        log.warning("could not build %s with %s (%s): small LSTMs run on torch's oneDNN kernel, about half as fast",
                    SOURCE.name, cc, detail.splitlines()[0] if detail else type(err).__name__)
        return None
    ptr, ptrs, i = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int
    for suffix in _DTYPES.values():
        fwd, bwd = getattr(lib, f"lstm_forward_{suffix}"), getattr(lib, f"lstm_backward_{suffix}")
        fwd.argtypes = [i, i, i, i, i, ptr, ptrs, ptrs, ptrs, ptrs, ptr, ptr]
        bwd.argtypes = [i, i, i, i, i, ptr, ptrs, ptrs, ptr, ptr, ptr, ptrs, ptrs, ptrs]
        fwd.restype = bwd.restype = i
    _libs[key] = lib
    return lib


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within this block ``suits`` says no, so torch's LSTM runs: benchmarks and tests compare the two."""
    global _disabled
    previous, _disabled = _disabled, True
    try:
        yield
    finally:
        _disabled = previous


def suits(x: torch.Tensor, hidden_size: int, dropout_active: bool) -> bool:
    """Whether this kernel should run an LSTM of ``hidden_size`` on ``x`` (T, B, inputs): on the CPU, in
    float32 or float64, small, without dropout; and the kernel builds on this machine."""
    return (not _disabled and x.device.type == "cpu" and x.dtype in _DTYPES and hidden_size <= MAX_HIDDEN
            and not dropout_active and _load(x.shape[-1], hidden_size) is not None)


def _library(inputs: int, hidden: int) -> ctypes.CDLL:
    lib = _load(inputs, hidden)
    if lib is None:
        raise RuntimeError(f"{SOURCE.name} could not be built; check suits() before calling stacked_lstm")
    return lib


def _pointers(tensors: list[torch.Tensor]) -> ctypes.Array:
    return (ctypes.c_void_p * len(tensors))(*(t.data_ptr() for t in tensors))


def _check(status: int) -> None:
    if status == -1:
        raise MemoryError("lstm_cpu: out of memory")
    if status != 0:
        raise RuntimeError(f"lstm_cpu: the kernel refused the call (status {status})")


def _forward(x: torch.Tensor, weights: tuple[torch.Tensor, ...], num_layers: int,
             keep: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The top layer's h (T, B, H); with ``keep``, also what the backward pass reads, (L, T, 7, B, H)."""
    seq, batch, inputs = x.shape
    hidden = weights[1].shape[1]
    fwd = getattr(_library(inputs, hidden), f"lstm_forward_{_DTYPES[x.dtype]}")
    w_ih, w_hh, b_ih, b_hh = (_pointers(list(weights[k::4])) for k in range(4))
    out = x.new_empty(seq, batch, hidden)
    saved = x.new_empty(num_layers, seq, 7, batch, hidden) if keep else None
    _check(fwd(seq, batch, inputs, hidden, num_layers, x.data_ptr(), w_ih, w_hh, b_ih, b_hh, out.data_ptr(),
               None if saved is None else saved.data_ptr()))
    return out, saved


class _StackedLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, num_layers: int, *weights: torch.Tensor) -> torch.Tensor:
        out, saved = _forward(x, weights, num_layers, keep=True)
        ctx.save_for_backward(x, saved, *weights)
        ctx.num_layers = num_layers
        return out

    @staticmethod
    def backward(ctx, dout: torch.Tensor):
        x, saved, *weights = ctx.saved_tensors
        dout = dout.contiguous()
        seq, batch, inputs = x.shape
        hidden = weights[1].shape[1]
        grads = [torch.empty_like(w) for w in weights]
        dx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        bwd = getattr(_library(inputs, hidden), f"lstm_backward_{_DTYPES[x.dtype]}")
        _check(bwd(seq, batch, inputs, hidden, ctx.num_layers, x.data_ptr(), _pointers(weights[0::4]),
                   _pointers(weights[1::4]), saved.data_ptr(), dout.data_ptr(),
                   None if dx is None else dx.data_ptr(), _pointers(grads[0::4]), _pointers(grads[1::4]),
                   _pointers(grads[2::4])))
        for layer in range(ctx.num_layers):  # both biases get the same gradient
            grads[4 * layer + 3].copy_(grads[4 * layer + 2])
        return (dx, None, *grads)


def stacked_lstm(x: torch.Tensor, weights: list[torch.Tensor], num_layers: int) -> torch.Tensor:
    """x (T, B, in) -> the top layer's h (T, B, H), from zero states. ``weights``: nn.LSTM's ``_flat_weights``,
    [w_ih, w_hh, b_ih, b_hh] per layer. Differentiable in x and every weight. Call only where ``suits``."""
    x = x.contiguous()
    weights = tuple(w.contiguous() for w in weights)
    if torch.is_grad_enabled() and (x.requires_grad or any(w.requires_grad for w in weights)):
        return _StackedLSTM.apply(x, num_layers, *weights)
    # Without autograd nothing is kept for a backward pass: at 4,096 windows that would be 176 MB a call.
    return _forward(x, weights, num_layers, keep=False)[0]
