"""Proof that an item was served to an annotator, for labels that arrive after their
reservation expired and was swept away (the row that said so is gone).

The labeling screen carries a signed ticket for (assignment, item, annotator) beside each item;
only the server can make one, so a label for an item never served to its sender is refused,
while a slow annotator's label still counts when a slot is free.
"""

from __future__ import annotations

from django.core import signing

_SALT = "annotate.served-item"


def served_ticket(*, assignment_id: int, item_id: int, annotator_id: int) -> str:
    return signing.Signer(salt=_SALT).sign(f"{assignment_id}:{item_id}:{annotator_id}")


def ticket_matches(ticket: str, *, assignment_id: int, item_id: int, annotator_id: int) -> bool:
    try:
        signed = signing.Signer(salt=_SALT).unsign(ticket)
    except signing.BadSignature:
        return False
    return signed == f"{assignment_id}:{item_id}:{annotator_id}"
