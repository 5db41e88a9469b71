"""The rules of quality control while labelling, in plain Python (no Django): when an annotator's
answers to a campaign's checks (gold questions and attention checks) pause them, and how sure the
accuracy on those checks is. ``annotate.services.quality`` applies them to stored labels;
bench/annotator_quality.py simulates annotators against the same functions."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binomtest

# What a new campaign starts with; bench/annotator_quality.py measures these defaults
# (bench/RESULTS.md): random clickers paused within 15 checks, good annotators rarely.
DEFAULT_PAUSE_BELOW = 0.6
DEFAULT_PAUSE_AFTER = 8


@dataclass(frozen=True)
class PauseRule:
    """Pause an annotator whose accuracy on checks is below ``below`` once they have answered
    at least ``after`` checks (before that, a few unlucky answers say too little)."""

    below: float = DEFAULT_PAUSE_BELOW
    after: int = DEFAULT_PAUSE_AFTER

    def pauses(self, *, answered: int, correct: int) -> bool:
        return answered >= self.after and correct < self.below * answered


@dataclass(frozen=True)
class CheckAccuracy:
    """Right answers out of checks answered, with a 95% Clopper-Pearson (exact) interval: the
    counts are small, where normal-approximation intervals leave [0, 1]."""

    answered: int
    correct: int
    low: float | None
    high: float | None

    @property
    def value(self) -> float | None:
        return self.correct / self.answered if self.answered else None


def check_accuracy(*, answered: int, correct: int) -> CheckAccuracy:
    if not answered:
        return CheckAccuracy(0, 0, None, None)
    interval = binomtest(correct, answered).proportion_ci(confidence_level=0.95, method="exact")
    return CheckAccuracy(answered, correct, float(interval.low), float(interval.high))
