"""What a tuning study (ci/tune.py) has to say about itself: its best trial and how to apply it, why none
completed, the commits its trials ran on, and experiments left from a deleted study."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ci.shell import run

if TYPE_CHECKING:
    import optuna


def best_summary(study: optuna.Study, objective: str, storage: str) -> str:
    """The best trial, its params and the command that applies it; or why there is none."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return f"no trial of study '{study.study_name}' in {storage} has completed yet\n"
    best = study.best_trial
    name = best.user_attrs.get("experiment", f"trial-{best.number}")
    lines = [f"best of {len(done)} completed trials: trial {best.number}, {objective} = {best.value:.6g}"]
    lines += [f"  {key}: {value!r}" for key, value in best.params.items()]
    lines.append(f"apply it: dvc exp apply {name}")
    return "\n".join(lines) + "\n"


def none_completed(study: optuna.Study) -> str | None:
    """Why a study that holds trials has no completed one (the first pruned trial's failure); None otherwise."""
    trials = study.get_trials(deepcopy=False)
    if not trials or any(t.state.name == "COMPLETE" for t in trials):
        return None
    failures = [f"trial-{t.number}: {t.user_attrs['failure']}" for t in trials if "failure" in t.user_attrs]
    return (f"none of the {len(trials)} trials of study '{study.study_name}' completed (pruned or failed)"
            + (f"; the first pruned, {failures[0]}" if failures else ""))


def other_commits(study: optuna.Study, commit: str) -> list[str]:
    """The commits, other than ``commit``, that this study's completed trials ran on."""
    return sorted({t.user_attrs.get("commit", "unknown")[:7] for t in study.trials
                   if t.state.name == "COMPLETE" and t.user_attrs.get("commit") != commit})


def stale_experiments(study: optuna.Study) -> list[str]:
    """Experiments named like the trials this study has yet to run (left by a deleted tune.db)."""
    numbers = [int(m[1]) for line in run("dvc", "exp", "list", "--name-only").split()
               if (m := re.fullmatch(r"trial-(\d+)", line))]
    return [f"trial-{k}" for k in sorted(numbers) if k >= len(study.trials)]
