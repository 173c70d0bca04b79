"""Independent work on every local core: ensemble members, cross-validation folds, baselines and backtest
blocks run as tasks in worker processes, and come back in the order they were given.

How many processes: ``$LSTM_FORECAST_WORKERS`` (default: the cores this process may run on). It is chosen
outside params.yaml because it changes no number: each task seeds whatever it draws from its own
arguments (ensemble member k from seed + k), reads nothing another task wrote, and its result is put in
its place in the list, so 1 worker and 8 give the same bytes (tests/test_parallel.py, and through dvc).

Workers are forked from the stage (Linux): they start in milliseconds with the stage's imports and data,
and the tasks reach them without being copied. Where fork is not the platform's way (macOS, Windows) the
tasks run one after the other. A worker runs its tasks alone (nested calls are serial) and with
``threads`` torch threads; Ctrl-C reaches the stage, which tells its workers to stop after their batch.
"""
from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from lstm_forecast import errors
from lstm_forecast.errors import Interrupted, StopAfterBatch, UserError

log = logging.getLogger(__name__)

WORKERS_ENV = "LSTM_FORECAST_WORKERS"
# How often the stage looks up from waiting, to pass a Ctrl-C on to its workers.
POLL_SECONDS = 0.1

T = TypeVar("T")
R = TypeVar("R")

# In the stage: the call being spread (function and tasks), which forked workers inherit. In a worker: True.
_job: tuple[Callable, Sequence] | None = None
_in_worker = False


def cores() -> int:
    """The cores this process may run on (its affinity, where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def workers() -> int:
    """``$LSTM_FORECAST_WORKERS``, else every core; a UserError naming the variable when it is not a whole
    number >= 1."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return cores()
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise UserError(f"${WORKERS_ENV}={value!r} is not a number of worker processes; use a whole number "
                        f">= 1 (1: one task at a time), or leave it unset for every core ({cores()} here)")
    return count


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _start_worker(stop, logs, threads: int) -> None:
    global _in_worker
    _in_worker = True
    errors.remote_stop = stop
    # Log records go to the stage, which logs them as its own (its handlers, its order; a test's caplog).
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(logs))
    # The stage handles Ctrl-C and passes it on through ``stop``; a SIGTERM ends a worker at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _relay(logs) -> None:
    """Log, in the stage, the records its workers sent."""
    while True:
        try:
            record = logs.get_nowait()
        except queue.Empty:
            return
        logging.getLogger(record.name).handle(record)


def _run(i: int):
    fn, tasks = _job
    return fn(tasks[i])


@contextlib.contextmanager
def job_of(job: int | None) -> Iterator[None]:
    """An Exception raised inside is marked as job ``job``'s (``err.job``), for a caller that ran several jobs
    at once (crossval's folds) to say which one failed."""
    try:
        yield
    except Exception as err:
        if job is not None and not hasattr(err, "job"):
            err.job = job
        raise


def process_count(tasks: int, count: int, available: int) -> int:
    """How many worker processes run ``tasks`` tasks with ``count`` workers on ``available`` cores: one a task
    where there are fewer tasks. Where the tasks would fill one round and leave the next partly idle (three
    ensemble members on two cores) and the workers are every core, they all start at once and the cores
    share them: the last task no longer runs alone while a core waits."""
    if tasks <= count:
        return tasks
    if count == available and tasks < 2 * count:
        return tasks
    return count


class Side:
    """Tasks that run beside the next ``run_all`` inside ``alongside``; ``results`` once they have run."""

    def __init__(self, fn: Callable, tasks: Sequence) -> None:
        self.fn, self.tasks, self.results = fn, list(tasks), None


_sides: list[Side] = []


@contextlib.contextmanager
def alongside(fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[Side]:
    """``[fn(task) for task in tasks]`` (in ``.results`` afterwards), run by the workers of the next ``run_all``
    inside, after that call's own tasks, so that its workers turn to them as its own run out (crossval's
    baseline backtests beside its training) instead of idling at its end. Where no call spreads them, they run
    on leaving. Each task must depend on its arguments alone, as ``run_all``'s do; so the results are the
    same bytes either way."""
    side = Side(fn, tasks)
    _sides.append(side)
    try:
        yield side
    finally:
        if side in _sides:
            _sides.remove(side)
    if side.results is None:
        side.results = run_all(fn, side.tasks)


def _either(pair: tuple[Callable, object]):
    fn, task = pair
    return fn(task)


def run_all(fn: Callable[[T], R], tasks: Sequence[T], threads: int = 1, jobs: Sequence[int] | None = None,
            costs: Sequence[float] | None = None) -> list[R]:
    """``[fn(task) for task in tasks]``, the tasks spread over ``workers()`` processes of ``threads`` torch
    threads each (see ``process_count``). ``fn`` must be a module-level function whose result depends on its task
    alone. With ``costs`` (each task's expected cost, in any unit), the costliest start first, so that no long
    task starts last; results keep the tasks' order. The first task (in order) that raises stops the others,
    and its exception is raised here, as a serial run would raise it; with ``jobs`` (the job each task belongs
    to), marked as that task's job (``job_of``)."""
    side = _sides[-1] if _sides and not _in_worker and _can_fork() else None
    count = 1 if _in_worker or not _can_fork() else process_count(
        len(tasks) + (len(side.tasks) if side else 0), workers(), cores())
    if count <= 1:
        results = []
        for i, task in enumerate(tasks):
            with job_of(None if jobs is None else jobs[i]):
                results.append(fn(task))
        return results
    global _job
    own = len(tasks)
    if side is not None:
        _sides.remove(side)
        fn, tasks = _either, [(fn, task) for task in tasks] + [(side.fn, task) for task in side.tasks]
        jobs = None if jobs is None else list(jobs) + [None] * len(side.tasks)
    _job = (fn, tasks)
    context = multiprocessing.get_context("fork")
    stop, logs = context.Event(), context.Queue()
    per_worker = max(1, threads // count)
    executor = ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker,
                                   initargs=(stop, logs, per_worker))
    finished = False
    try:
        with StopAfterBatch() as ctrl_c:
            order = [*(range(own) if costs is None else sorted(range(own), key=lambda i: -costs[i])),
                     *range(own, len(tasks))]
            submitted = {i: executor.submit(_run, i) for i in order}
            futures = [submitted[i] for i in range(len(tasks))]
            results = []
            for i, future in enumerate(futures):
                while True:
                    _relay(logs)
                    if ctrl_c.requested:
                        stop.set()
                    try:
                        with job_of(None if jobs is None else jobs[i]):
                            results.append(future.result(timeout=POLL_SECONDS))
                        break
                    except FutureTimeout:
                        continue
            # Every task finished before it looked at the stop: the stage stops here instead.
            if ctrl_c.requested:
                raise Interrupted("interrupted (Ctrl-C); nothing was saved", signal.SIGINT)
        finished = True
        if side is not None:
            side.results = results[own:]
        return results[:own]
    finally:
        _job = None
        if finished:
            executor.shutdown(wait=True)  # the workers end, and what they logged has all been sent
            _relay(logs)
        else:
            stop.set()
            # Not one task more; workers still busy are ended (what they had done is of no use now).
            processes = list(getattr(executor, "_processes", {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:
                process.join()
            _relay(logs)
