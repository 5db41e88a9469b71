"""Signals other apps listen to; inference must not import them (DESIGN.md: arrows go one way)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once, by whichever worker finishes the last chunk; kwargs: run_id.
generation_run_finished = Signal()
