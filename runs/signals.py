"""Signals other apps listen to, so the app that sends one never imports its listeners
(docs/architecture.md: arrows go one way)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once, by whichever worker finishes a run's last chunk; sender: the run model; kwargs:
# run_id. Judging listens for generation runs (sender=GenerationRun) to start --then-judge.
run_finished = Signal()
