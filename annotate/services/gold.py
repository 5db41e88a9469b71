"""Gold labels: the majority of an item's annotators when they all agree, or a researcher's
adjudication, which overrides it."""

from __future__ import annotations

from django.contrib.auth.models import User

from annotate.models import GoldLabel, GoldSource, Item, Label
from annotate.schemes import scheme_values
from annotate.services.errors import LabelError


def gold_majority_refresh(*, item_id: int, overlap: int) -> None:
    """An item labelled by all ``overlap`` annotators alike gets that label as gold; a later
    change that breaks the agreement takes it away. Adjudicated gold is never touched."""
    values = list(Label.objects.filter(assignment__item_id=item_id).values_list("value", flat=True))
    unanimous = len(values) >= overlap and len(set(values)) == 1
    if unanimous:
        GoldLabel.objects.bulk_create(
            [GoldLabel(item_id=item_id, value=values[0], source=GoldSource.MAJORITY)],
            ignore_conflicts=True,
        )
    elif len(values) >= overlap:
        GoldLabel.objects.filter(item_id=item_id, source=GoldSource.MAJORITY).delete()


def gold_set(*, item: Item, value: str, reason: str, user: User) -> GoldLabel:
    """A researcher settles an item: this label, for this reason, overrides any majority."""
    if value not in scheme_values(item.campaign.label_scheme):
        raise LabelError(f"{value!r} is not a label of this campaign.")
    if not reason.strip():
        raise LabelError("Give a reason for the gold label.")
    gold, _ = GoldLabel.objects.update_or_create(
        item=item,
        defaults={
            "value": value,
            "source": GoldSource.ADJUDICATED,
            "reason": reason.strip(),
            "decided_by": user,
        },
    )
    return gold
