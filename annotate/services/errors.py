"""What the annotate services refuse with: one sentence a user reads, and for a campaign the
field at fault. Its own module because campaigns, labels and gold labels all raise them (and
the views and the API catch them) without importing each other."""

from __future__ import annotations


class CampaignError(ValueError):
    """A campaign that cannot be created or changed as asked; the message names the setting,
    and ``field`` names the form or API field at fault when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LabelError(ValueError):
    """A label (or gold label) that cannot be stored; the message says why in one sentence."""


class CheckError(ValueError):
    """Checks (gold questions, attention checks) or quality-control settings that cannot be
    added or changed as asked; the message says why in one sentence, and ``field`` names the
    form field or command option at fault when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
