"""Progress lines for the log: `dvc repro` shows no progress bar (tqdm draws one on a terminal only), so a
long training says where it is, and how long it has left, at least every PROGRESS_SECONDS."""
from __future__ import annotations

import logging
import math
import time

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 10.0


class Progress:
    """Log lines, at most every PROGRESS_SECONDS, saying where one member's training is and how long that
    member has left (members may train side by side, each in its own process)."""

    def __init__(self, what: str, members: int, epochs: int):
        # what: the lines' prefix ('' while training, 'retraining: ' while retraining on the whole series);
        # members: how many the ensemble has; epochs: this member's
        self.what, self.members, self.epochs = what, members, epochs
        self.started = self.last = time.perf_counter()
        self.done = 0  # epochs finished

    def epoch_done(self) -> None:
        self.done += 1

    def tick(self, member: int, epoch: int, detail: str = "") -> None:
        now = time.perf_counter()
        if now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        left = (now - self.started) / self.done * (self.epochs - self.done) if self.done else math.nan
        log.info("%smember %d of %d, epoch %d of %d%s; %s left", self.what, member, self.members, epoch,
                 self.epochs, detail, "unknown" if math.isnan(left) else f"about {left:.0f} s")
