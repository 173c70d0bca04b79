"""Tune: Optuna's TPE proposes params from tune.yaml, each trial runs as the DVC experiment trial-<k>, and its
validation or cross-validation score (never a test_ one) is the objective.

    python -m ci.tune [--trials 20] [--space tune.yaml] [--objective NAME] [--storage URL]   # or: make tune

The study lives in tune.db (SQLite, git-ignored) under a fixed name: run it again, after Ctrl-C too, and it
resumes. `--storage` points several machines at one shared study database (any URL Optuna's RDB storage takes).
Each trial runs `dvc exp run --temp -n trial-<k> -S key=value ...`: in turn, in a temporary folder, like
`make sweep` (DVC's task queue can hang once empty, treeverse/dvc#10398), and lands in `dvc exp show`.
Experiments run on the last commit plus changes to tracked files: commit new files first.
Values of window.time_step too long for the series are dropped before the study starts (ci/feasible.py), and a
study none of whose trials completed (all pruned or failed) exits 1 with the first failure's line.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci.feasible import fit_space
from ci.objective import allowed_metrics, check_objective, default_objective, objective_value
from ci.search_space import Dimension, load_space, override
from ci.shell import CommandError, command_main, fail, run, untracked_files
from ci.study import best_summary, none_completed, other_commits, stale_experiments
from lstm_forecast.errors import USER_ERROR_EXIT

if TYPE_CHECKING:
    import optuna

STUDY = "lstm-forecast"
STORAGE = "sqlite:///tune.db"
FAILED_STAGE = re.compile(r"failed to reproduce '([\w-]+)': .*exited with (-?\d+)")
INTERRUPTED_EXIT = 128 + signal.SIGINT


@dataclass(frozen=True)
class Outcome:
    """What one trial's experiment gave: its allowed metrics, or why a stage refused its params."""

    metrics: dict[str, float]
    failure: str | None = None


Runner = Callable[[str, list[str]], Outcome]


def run_experiment(name: str, sets: list[str]) -> str | None:
    """Run one experiment, streaming dvc's output to stderr. None when it succeeded; the stage's error line when
    a stage refused the params (its user-error exit); CommandError for any other failure (a bug, dvc itself)."""
    args = ["dvc", "exp", "run", "--temp", "-n", name, *(arg for s in sets for arg in ("-S", s))]
    lines = []
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            for line in proc.stdout:
                sys.stderr.write(line)
                lines.append(line.rstrip("\n"))
            code = proc.wait()
        except KeyboardInterrupt:
            # The terminal's Ctrl-C reaches dvc too; a SIGINT sent to this process alone must stop it as well.
            proc.send_signal(signal.SIGINT)
            proc.wait()
            raise
    if code == 0:
        return None
    failed = [m for line in lines if (m := FAILED_STAGE.search(line))]
    if failed and int(failed[-1][2]) == USER_ERROR_EXIT:
        said = [line for line in lines if line.startswith("error: ")]
        return f"stage {failed[-1][1]}: " + (said[-1].removeprefix("error: ") if said else "refused its params")
    detail = next((line for line in reversed(lines) if line.strip()), "")
    raise CommandError(f"`{' '.join(args)}` exited {code}" + (f": {detail}" if detail else ""))


def exp_show() -> list[dict]:
    return json.loads(run("dvc", "exp", "show", "--json", "--no-pager")) or []


def experiment_files(shown: list[dict], name: str) -> dict[str, Mapping[str, Any]]:
    """Metrics file -> its metrics, of the experiment ``name`` in `dvc exp show --json`."""
    for rev in shown:
        for exp in rev.get("experiments") or []:
            if exp.get("name") == name:
                metrics = exp["revs"][0]["data"].get("metrics") or {}
                return {path: entry.get("data") or {} for path, entry in metrics.items()}
    raise CommandError(f"experiment {name} ran but `dvc exp show` does not list it")


def dvc_runner(name: str, sets: list[str]) -> Outcome:
    failure = run_experiment(name, sets)
    if failure is not None:
        return Outcome({}, failure)
    return Outcome(allowed_metrics(experiment_files(exp_show(), name)))


def open_study(storage: str, study_name: str, objective: str, seed: int) -> optuna.Study:
    """Create the study, or load it to resume; ValueError if it was started with another objective."""
    import optuna

    from sqlalchemy.exc import SQLAlchemyError

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(storage=storage, study_name=study_name, load_if_exists=True,
                                    direction=check_objective(objective))
    except (SQLAlchemyError, ImportError) as err:  # a malformed URL, an unreachable server, a missing driver
        raise ValueError(f"--storage {storage}: {str(err).splitlines()[0]}") from None
    started = study.user_attrs.get("objective")
    if started is None:
        study.set_user_attr("objective", objective)
    elif started != objective:
        raise ValueError(f"study '{study_name}' in {storage} tunes {started}, not {objective}: use --objective "
                         f"{started}, or --study with a new name")
    # Seeded by the trials already there, so a resumed study does not replay its first proposals.
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def suggested(trial: optuna.Trial, space: list[Dimension], study_name: str) -> list[str]:
    """The trial's proposal as `-S` overrides."""
    try:
        return [override(dim.key, dim.suggest(trial)) for dim in space]
    except ValueError as err:  # Optuna refuses a key whose type or choices changed since the study began
        raise ValueError(f"the search space no longer fits study '{study_name}' ({err}): use --study with a "
                         "new name") from None


def run_trials(study: optuna.Study, space: list[Dimension], objective: str, trials: int,
               runner: Runner = dvc_runner, attrs: Mapping[str, str] | None = None) -> int:
    """Run ``trials`` trials; 0 when done, 130 after Ctrl-C (the running trial is told FAIL, the rest kept)."""
    from optuna.trial import TrialState

    for _ in range(trials):
        trial = study.ask()
        name = f"trial-{trial.number}"
        for key, value in (attrs or {}).items():
            trial.set_user_attr(key, value)
        trial.set_user_attr("experiment", name)
        try:
            sets = suggested(trial, space, study.study_name)
            print(f"tune: {name}: {' '.join(sets)}", file=sys.stderr)
            outcome = runner(name, sets)
            value = None if outcome.failure else objective_value(outcome.metrics, objective, name)
        except KeyboardInterrupt:
            study.tell(trial, state=TrialState.FAIL)
            print(f"tune: interrupted (Ctrl-C) in {name}; the study keeps every finished trial", file=sys.stderr)
            return INTERRUPTED_EXIT
        except BaseException:
            study.tell(trial, state=TrialState.FAIL)
            raise
        if value is not None and not math.isfinite(value):
            outcome = Outcome({}, f"{objective} is {value}")
        if outcome.failure:
            trial.set_user_attr("failure", outcome.failure)
            study.tell(trial, state=TrialState.PRUNED)  # TPE counts it as worse than any value: it steers away
            print(f"tune: {name} failed ({outcome.failure}); told to Optuna as pruned", file=sys.stderr)
        else:
            study.tell(trial, value)
            print(f"tune: {name}: {objective} = {value:.6g}", file=sys.stderr)
    return 0


@command_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials this run adds to the study (default 20)")
    parser.add_argument("--space", type=Path, default=Path("tune.yaml"), help="search space (default tune.yaml)")
    parser.add_argument("--objective", help="metric to optimise (default crossval_lstm_mase_mean when "
                        "crossval.folds > 0, else val_lstm_mase); never a test_ one")
    parser.add_argument("--storage", default=STORAGE, help=f"Optuna storage URL (default {STORAGE})")
    parser.add_argument("--study", default=STUDY, help=f"study name (default {STUDY})")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed; give each machine its own (default 0)")
    args = parser.parse_args(argv)
    try:
        return run_study(args)
    except KeyboardInterrupt:  # outside a trial: while opening the study or asking dvc
        print("tune: interrupted (Ctrl-C); the study keeps every finished trial", file=sys.stderr)
        return INTERRUPTED_EXIT


def run_study(args: argparse.Namespace) -> int:
    """Check the space and the objective, open the study, run the trials, print the best."""
    try:
        if args.trials < 0:
            raise ValueError(f"--trials {args.trials}: should be >= 0")
        space, dropped = fit_space(load_space(args.space))
        for line in dropped:
            print(f"tune: {line}", file=sys.stderr)
        objective = args.objective or default_objective()
        check_objective(objective)
        study = open_study(args.storage, args.study, objective, args.seed)
        stale = stale_experiments(study)
        if stale:
            raise ValueError(f"experiments {', '.join(stale)} exist on this commit but study '{args.study}' in "
                             f"{args.storage} did not run them: `dvc exp remove {' '.join(stale)}` (after `dvc exp "
                             "branch` for any worth keeping)")
    except ValueError as err:
        return fail(str(err))
    untracked = untracked_files()
    if untracked:
        print(f"tune: warning: experiments will not see untracked files: {', '.join(untracked)}", file=sys.stderr)
    print(f"tune: study '{args.study}' ({len(study.trials)} trials so far), {args.trials} more, {objective}",
          file=sys.stderr)
    commit = run("git", "rev-parse", "HEAD").strip()
    others = other_commits(study, commit)
    if others:
        print(f"tune: warning: the study holds trials run on other commits ({', '.join(others)}): their scores "
              "came from other code or data", file=sys.stderr)
    try:
        code = run_trials(study, space, objective, args.trials, attrs={"commit": commit})
    except ValueError as err:
        return fail(str(err))
    sys.stdout.write(best_summary(study, objective, args.storage))
    if code == INTERRUPTED_EXIT:
        print("tune: run it again to resume the study", file=sys.stderr)
    elif (why := none_completed(study)) is not None:
        return fail(why, 1)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
