"""The one error base of runs: a run that cannot be started, resumed or judged as asked."""

from __future__ import annotations


class RunError(ValueError):
    """A run that cannot be started or resumed as asked; one sentence for the person who
    asked."""


class NothingToResume(RunError):
    """A running run whose missing items are all in live chunks: resuming would only do them
    twice."""
