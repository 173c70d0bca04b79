"""The stacked LSTM of lstm_cpu.c: built with the machine's C compiler on first use, called through ctypes.

At small sizes torch's CPU LSTM (oneDNN) pays a fixed setup cost per call; this one does the arithmetic
alone, all layers and steps in one call. It runs small models only (``applies``): past MAX_HIDDEN, oneDNN's
matrix kernels win (docs/performance.md has the measurements).

Each (input size, hidden size) gets its own build, with the sizes as compile-time constants. The shared
libraries are cached per source, sizes, flags, compiler and CPU, under ``$XDG_CACHE_HOME/lstm-forecast``
(default ``~/.cache``, else the temporary folder). ``$CC`` names the
compiler (default ``cc``). Where no build works, ``stacked_lstm`` is a user error that says so: running
torch's LSTM instead would change the results without a word (``train.lstm_kernel: torch`` asks for it).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch
from torch.autograd.function import once_differentiable

from lstm_forecast.errors import ArgumentError, UserError

SOURCE = Path(__file__).with_name("lstm_cpu.c")
# -ffp-contract=off: no fused multiply-adds, so the vector width does not change a single result bit.
# -fno-trapping-math: the comparisons that clamp exp's input may be vector selects (no FP exception is ever
# read here); without it GCC leaves the activations scalar wherever the CPU lacks AVX-512's masks, and an
# AVX2 machine ran the forward pass 3x slower than an AVX-512 one. Every result bit is the same either way.
FLAGS = ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-trapping-math", "-fPIC", "-shared"]
# Widest hidden size this kernel runs: past it oneDNN trains faster (docs/performance.md).
MAX_HIDDEN = 16
BUILD_TIMEOUT_S = 120
_DTYPES = {torch.float32: "f32", torch.float64: "f64"}

# (inputs, hidden) -> the loaded library, or why it could not be built (not tried again in this process).
_libs: dict[tuple[int, int], ctypes.CDLL | str] = {}


def _cpu_signature() -> str:
    """The CPU's model and feature flags: a library built with -march=native runs only where they match."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags", "Features"))]
    return "\n".join(dict.fromkeys(lines))


def march() -> str:
    """The x86-64 target of the build: ``$LSTM_FORECAST_MARCH``, default ``native`` (this CPU). The results are
    the same bits for any target; ``x86-64-v3`` (AVX2) shows on any machine what an AVX2-only CPU gets
    (bench/speed.py --kernels)."""
    return os.environ.get("LSTM_FORECAST_MARCH", "").strip() or "native"


def compiler() -> list[str]:
    """The C compiler command: ``$CC`` (which may carry arguments, as in ``ccache gcc``), else ``cc``."""
    value = os.environ.get("CC", "")
    try:
        return shlex.split(value) or ["cc"]
    except ValueError as err:
        raise UserError(f"$CC={value!r} is not a command line ({err}); name a C compiler, such as gcc") from None


def _cache_dirs() -> list[Path]:
    """Where builds are cached, in order of preference: the user's cache folder, then the temporary folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    # expanduser leaves the "~" in place when it knows no home folder.
    dirs = [] if base.startswith("~") else [Path(base) / "lstm-forecast"]
    return [*dirs, Path(tempfile.gettempdir()) / f"lstm-forecast-{uid}"]


def _private(folder: Path) -> bool:
    """Whether only this user can write in ``folder``: a library found there is loaded and run."""
    st = folder.stat()
    return (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not st.st_mode & 0o022


def _build(cc: list[str], inputs: int, hidden: int) -> ctypes.CDLL:
    """Compile (or find cached) and load the build for these sizes. Raises OSError or SubprocessError."""
    resolved = shutil.which(cc[0])
    if resolved is None:
        raise FileNotFoundError(f"{cc[0]} not found")
    version = subprocess.run([*cc, "--version"], capture_output=True, check=True, timeout=BUILD_TIMEOUT_S).stdout
    flags = [*FLAGS, f"-DINPUTS={inputs}", f"-DHIDDEN={hidden}"]
    flags += [f"-march={march()}"] if platform.machine() in ("x86_64", "AMD64") else []
    parts = [SOURCE.read_bytes(), *(a.encode() for a in [resolved, *cc, *flags]), version, _cpu_signature().encode()]
    key = hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]
    errors = []
    for cache in _cache_dirs():
        target = cache / f"lstm_cpu-{key}.so"
        if target.exists() and _private(cache):
            return ctypes.CDLL(str(target))
        try:
            cache.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(cache):
                errors.append(f"{cache}: other users can write there")
                continue
            fd, tmp = tempfile.mkstemp(prefix=".lstm_cpu-", suffix=".so", dir=cache)
        except OSError as err:
            errors.append(f"{cache}: {err.strerror or err}")
            continue
        os.close(fd)
        # Built beside the target, loaded, and only then renamed into place: parallel experiments may build
        # at the same time, and a file that does not load must not be cached.
        try:
            # An absolute path: the source includes itself by its own name (__FILE__).
            subprocess.run([*cc, *flags, str(SOURCE.resolve()), "-o", tmp, "-lm"], capture_output=True, check=True,
                           timeout=BUILD_TIMEOUT_S)
            try:
                lib = ctypes.CDLL(tmp)
            except OSError as err:  # a folder mounted noexec, say, or a "compiler" that wrote no library
                errors.append(f"{cache}: built, but it does not load ({err})")
                continue
            os.replace(tmp, target)
            return lib
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise OSError(f"no cache folder to build and load it in: {'; '.join(errors)}")


def _load(inputs: int, hidden: int) -> ctypes.CDLL | str:
    """The library for these sizes, or a one-line reason why it could not be built."""
    key = (inputs, hidden)
    if key not in _libs:
        try:
            lib = _build(compiler(), inputs, hidden)
        except subprocess.CalledProcessError as err:
            text = (err.stderr or b"").decode(errors="replace").strip()
            first = text.splitlines()[0] if text else f"exit {err.returncode}"
            _libs[key] = f"{shlex.join(err.cmd[:1])} failed: {first}"
        except (OSError, subprocess.SubprocessError) as err:
            _libs[key] = str(err) or type(err).__name__
        else:
            ptr, ptrs, i = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int
            for suffix in _DTYPES.values():
                fwd, bwd = getattr(lib, f"lstm_forward_{suffix}"), getattr(lib, f"lstm_backward_{suffix}")
                fwd.argtypes = [i, i, i, i, i, ptr, ptrs, ptrs, ptrs, ptrs, ptr, ptr]
                bwd.argtypes = [i, i, i, i, i, ptr, ptrs, ptrs, ptr, ptr, ptr, ptrs, ptrs, ptrs]
                fwd.restype = bwd.restype = i
            _libs[key] = lib
    return _libs[key]


def applies(x: torch.Tensor, hidden_size: int, dropout_active: bool) -> bool:
    """Whether this kernel is the one for an LSTM of ``hidden_size`` on ``x``: on the CPU, in float32 or
    float64, at most MAX_HIDDEN units, without dropout between layers (torch's LSTM draws those masks)."""
    return x.device.type == "cpu" and x.dtype in _DTYPES and hidden_size <= MAX_HIDDEN and not dropout_active


def prepare(inputs: int, hidden: int) -> ctypes.CDLL:
    """The library for these sizes, built now if need be; an ArgumentError about ``lstm_kernel='c'``, one
    line, where it cannot be."""
    lib = _load(inputs, hidden)
    if isinstance(lib, str):
        raise ArgumentError(
            "lstm_kernel", "c",
            f"{SOURCE.name} (the small-LSTM kernel) could not be built and loaded with {shlex.join(compiler())}: "
            f"{lib}; install a C compiler (gcc) or name one in $CC, or use lstm_kernel 'torch' and retrain"
        )
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
    fwd = getattr(prepare(inputs, hidden), f"lstm_forward_{_DTYPES[x.dtype]}")
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
    @once_differentiable
    def backward(ctx, dout: torch.Tensor):
        x, saved, *weights = ctx.saved_tensors
        dout = dout.contiguous()
        seq, batch, inputs = x.shape
        hidden = weights[1].shape[1]
        grads = [torch.empty_like(w) for w in weights]
        dx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        bwd = getattr(prepare(inputs, hidden), f"lstm_backward_{_DTYPES[x.dtype]}")
        _check(bwd(seq, batch, inputs, hidden, ctx.num_layers, x.data_ptr(), _pointers(weights[0::4]),
                   _pointers(weights[1::4]), saved.data_ptr(), dout.data_ptr(),
                   None if dx is None else dx.data_ptr(), _pointers(grads[0::4]), _pointers(grads[1::4]),
                   _pointers(grads[2::4])))
        for layer in range(ctx.num_layers):  # both biases get the same gradient
            grads[4 * layer + 3].copy_(grads[4 * layer + 2])
        return (dx, None, *grads)


def _check_arguments(x: torch.Tensor, weights: tuple[torch.Tensor, ...], num_layers: int) -> None:
    """A wrong shape, dtype or device would make the kernel read past a buffer: refuse it here."""
    hidden = weights[1].shape[-1] if len(weights) > 1 else 0
    expected = []
    for layer in range(num_layers):
        inputs = x.shape[-1] if layer == 0 else hidden
        expected += [(4 * hidden, inputs), (4 * hidden, hidden), (4 * hidden,), (4 * hidden,)]
    if (x.dim() != 3 or num_layers < 1 or x.device.type != "cpu" or x.dtype not in _DTYPES
            or [tuple(w.shape) for w in weights] != expected
            or any(w.dtype != x.dtype or w.device != x.device for w in weights)):
        raise ValueError(f"stacked_lstm: x {tuple(x.shape)} ({x.dtype}, {x.device}) and weights "
                         f"{[tuple(w.shape) for w in weights]} are not those of a {num_layers}-layer LSTM on the CPU")


def stacked_lstm(x: torch.Tensor, weights: list[torch.Tensor], num_layers: int) -> torch.Tensor:
    """x (T, B, in) -> the top layer's h (T, B, H), from zero states. ``weights``: nn.LSTM's ``_flat_weights``,
    [w_ih, w_hh, b_ih, b_hh] per layer. Differentiable in x and every weight (once: not twice). Call where
    ``applies``; an ArgumentError about ``lstm_kernel`` when the kernel cannot be built."""
    x = x.contiguous()
    weights = tuple(w.contiguous() for w in weights)
    _check_arguments(x, weights, num_layers)
    if torch.is_grad_enabled() and (x.requires_grad or any(w.requires_grad for w in weights)):
        return _StackedLSTM.apply(x, num_layers, *weights)
    # Without autograd nothing is kept for a backward pass: on long series that buffer dominates memory.
    return _forward(x, weights, num_layers, keep=False)[0]
