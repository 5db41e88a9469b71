"""What commands that name a campaign share."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.numbers import whole_number
from annotate.models import Campaign


def campaign_argument(value: str) -> Campaign:
    """The campaign a command's argument names, or one sentence."""
    number = whole_number(value)
    campaign = Campaign.objects.filter(pk=number).first() if number is not None else None
    if campaign is None:
        raise CommandError(f"There is no campaign with id {value!r}.")
    return campaign
