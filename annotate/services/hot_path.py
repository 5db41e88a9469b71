"""The label-and-next request in as few statements as PostgreSQL allows (issue 17).

An annotator's key press stores a label and reserves their next item. Through the ORM that is a
statement per step (lock the assignment, insert the label, insert its revision, mark the
assignment done; lock an open item, take its slot, insert the new assignment), each a round trip
and a plan. Here each half is one statement with data-modifying common table expressions, which
PostgreSQL runs as one unit under the same row locks the ORM steps take:

- ``label_first``: the first label of an item served to this annotator, not a check, the
  annotator not paused. Anything else (a change, a check, an expired or skipped assignment, a
  paused annotator) matches no row, and the caller takes the general path, which says why.
- ``reserve_next``: the annotator's oldest other reservation if they hold one, else the next
  turn of the conversation they are in (campaigns of every turn), else the first open item from
  their cursor on (see below), items of met targets left out, its slot taken and the assignment
  made; and whether any reservation has run out (the sweep then runs, on its own). Checks are
  the general path's: a campaign with one due takes it.

Other databases (SQLite, the embedded demo) take the general path throughout: same rules, same
answers, more statements.

The cursor (not in campaigns of every turn, whose layout puts all first turns before any later
one, so that the position of a later turn says nothing of the first turns not yet served): items
are served in position order, so the items an annotator has passed lie
behind the item they were served last. Searching from there, rather than from the start,
spares probing every item they were served that is still open to others, which grows with how
far ahead of the others they are. An item behind the cursor that opens again (a reservation
that ran out, a skip) is left to the others; the annotator gets it once nothing lies ahead,
when the general path searches from the start.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from django.db import connection

from accounts.prepared import prepared_cursor
from annotate.models import AssignmentStatus, CheckKind

PARAMETERS = {
    "reserved": AssignmentStatus.RESERVED.value,
    "done": AssignmentStatus.DONE.value,
    "regular": CheckKind.NONE.value,
}


def in_one_statement() -> bool:
    """Whether this database runs the one-statement versions (PostgreSQL)."""
    return connection.vendor == "postgresql"


# Labels of one item, one transaction at a time (held to the commit). A label's statement sees the
# labels committed before it began: two labels of an item stored at once would each miss the
# other, and neither would see the overlap that decides gold (without the lock, 20 annotators
# labelling at once left 18 of 60 unanimous items without gold). Taken first, before any row
# lock, so that it never waits while holding one (the sweep locks assignments, then items). An
# advisory lock keyed by the item's id: no row is locked, so serving others never waits on it.
ITEM_LABELS_LOCK = "SELECT pg_advisory_xact_lock(%s::bigint)"


def item_labels_lock(item_id: int) -> None:
    """Wait until no other transaction is storing a label of this item, and keep others waiting
    until this one ends: what it then reads of the item's labels is all there is. SQLite needs
    none: its transactions take the database's write lock at BEGIN (IMMEDIATE,
    config/settings.py), one at a time."""
    if in_one_statement():
        with prepared_cursor() as cursor:
            cursor.execute(ITEM_LABELS_LOCK, [item_id])


@dataclass(frozen=True)
class FirstLabel:
    label_id: int
    # The annotator's count of labelled items in the campaign, this one included (the progress
    # bar's ``done``, read here rather than by a statement of its own).
    annotator_labelled: int
    # From ``overlap`` labels on (when gold may change): the item's labels that count in figures
    # and gold, this one included where its annotator's labels count; else None.
    counted_values: list[str] | None


LABEL_FIRST = """
WITH done AS (
    UPDATE annotate_assignment AS a
    SET status = %(done)s, completed_at = %(now)s
    FROM annotate_item AS i
    WHERE a.id = %(assignment)s AND a.annotator_id = %(user)s AND a.item_id = %(item)s
      AND a.status = %(reserved)s
      AND i.id = a.item_id AND i.campaign_id = %(campaign)s AND i.check_kind = %(regular)s
      AND NOT EXISTS (
          SELECT 1 FROM annotate_annotatorstanding AS s
          WHERE s.campaign_id = %(campaign)s AND s.annotator_id = %(user)s
            AND s.paused_at IS NOT NULL
      )
    RETURNING a.id
), label AS (
    INSERT INTO annotate_label
        (assignment_id, value, answers, note, time_spent_ms, is_demo, created_at, updated_at)
    SELECT id, %(value)s, %(answers)s::jsonb, %(note)s, %(time_spent_ms)s, %(is_demo)s,
        %(now)s, %(now)s
    FROM done
    RETURNING id
), revision AS (
    INSERT INTO annotate_labelrevision (label_id, value, answers, note, time_spent_ms, created_at)
    SELECT id, %(value)s, %(answers)s::jsonb, %(note)s, %(time_spent_ms)s, %(now)s FROM label
), counted AS (
    INSERT INTO annotate_annotatorcount (campaign_id, annotator_id, labelled)
    SELECT %(campaign)s, %(user)s, 1 FROM label
    ON CONFLICT (campaign_id, annotator_id)
    DO UPDATE SET labelled = annotate_annotatorcount.labelled + 1
    RETURNING labelled
), before AS (
    -- Every sub-statement sees the tables as they were before the statement: the labels here
    -- leave out the one being stored.
    SELECT count(*) AS labels FROM annotate_assignment
    WHERE item_id = %(item)s AND status = %(done)s
)
-- From the overlap-th label on, the labels gold is decided from (figure_assignments: those of
-- annotators not excluded), so that gold needs no read of its own.
SELECT label.id, counted.labelled,
    CASE WHEN before.labels + 1 >= %(overlap)s THEN ARRAY(
        SELECT l.value
        FROM annotate_assignment AS a JOIN annotate_label AS l ON l.assignment_id = a.id
        WHERE a.item_id = %(item)s AND a.status = %(done)s AND {counts}
    ) END,
    CASE WHEN before.labels + 1 >= %(overlap)s THEN {mine_counts} END
FROM label, counted, before
"""

# Whether an annotator's labels count in the campaign's figures and gold: not excluded by a
# researcher (annotate/selectors.py, ``excluded_annotators``).
COUNTS = """NOT EXISTS (
    SELECT 1 FROM annotate_annotatorstanding AS s
    WHERE s.campaign_id = %(campaign)s AND s.annotator_id = {annotator}
      AND s.excluded_at IS NOT NULL
)"""
LABEL_FIRST = LABEL_FIRST.replace("{counts}", COUNTS.replace("{annotator}", "a.annotator_id"))
LABEL_FIRST = LABEL_FIRST.replace("{mine_counts}", COUNTS.replace("{annotator}", "%(user)s"))


def label_first(
    *,
    campaign_id: int,
    overlap: int,
    user_id: int,
    assignment_id: int,
    item_id: int,
    value: str,
    answers: dict[str, Any],
    note: str,
    time_spent_ms: int,
    is_demo: bool,
    now: datetime,
) -> FirstLabel | None:
    """Store the label, its first revision, the assignment's completion and the annotator's
    count in one statement; None when the label is not a first label of a regular item by an
    annotator not paused. From the campaign's ``overlap``-th label of the item on, also the
    labels its gold is decided from; and the annotator's count of labelled items."""
    parameters: dict[str, Any] = {
        **PARAMETERS,
        "campaign": campaign_id,
        "overlap": overlap,
        "user": user_id,
        "assignment": assignment_id,
        "item": item_id,
        "value": value,
        "answers": json.dumps(answers),
        "note": note,
        "time_spent_ms": time_spent_ms,
        "is_demo": is_demo,
        "now": now,
    }
    with prepared_cursor() as cursor:
        cursor.execute(LABEL_FIRST, parameters)
        row = cursor.fetchone()
    if row is None:
        return None
    label_id, labelled, others, mine_counts = row
    counted = None if others is None else [*others, *([value] if mine_counts else [])]
    return FirstLabel(label_id=label_id, annotator_labelled=labelled, counted_values=counted)


# The sweep's question (annotate/services/serving.py): expired reservations (id, item id),
# locked, those another request holds skipped. Asked when ``reserve_next`` saw any.
EXPIRED_LOCKED = """
SELECT id, item_id FROM annotate_assignment WHERE status = %s AND expires_at < %s
LIMIT %s FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True)
class Reserved:
    assignment_id: int
    item_id: int
    reserved_at: datetime
    expires_at: datetime
    was_held: bool  # an earlier reservation of theirs, not a new one


@dataclass(frozen=True)
class NextReserved:
    reserved: Reserved | None
    # Whether any reservation (anyone's, in any campaign) had run out: the caller sweeps them
    # back, a statement the common case (none) does without.
    expired_seen: bool


RESERVE_NEXT = """
WITH paused AS (
    SELECT 1 FROM annotate_annotatorstanding
    WHERE campaign_id = %(campaign)s AND annotator_id = %(user)s AND paused_at IS NOT NULL
), held AS (
    SELECT a.id, a.item_id, a.reserved_at, a.expires_at
    FROM annotate_assignment AS a JOIN annotate_item AS i ON i.id = a.item_id
    WHERE a.annotator_id = %(user)s AND a.status = %(reserved)s AND i.campaign_id = %(campaign)s
      AND NOT (a.id = ANY(%(exclude)s::bigint[]))
      AND NOT EXISTS (SELECT 1 FROM paused)
    ORDER BY a.reserved_at, a.id
    LIMIT 1
), last_served AS (
    SELECT i.position, i.conversation
    FROM annotate_assignment AS a JOIN annotate_item AS i ON i.id = a.item_id
    WHERE a.annotator_id = %(user)s AND i.campaign_id = %(campaign)s
      AND i.check_kind = %(regular)s
    ORDER BY a.id DESC
    LIMIT 1
), next_turn AS (
    SELECT i.id
    FROM annotate_item AS i
    WHERE %(every_turn)s AND i.campaign_id = %(campaign)s AND i.slots_left > 0
      AND i.conversation = (SELECT conversation FROM last_served)
      AND i.position > (SELECT position FROM last_served)
      AND {open_to_them}
      AND {unmet}
    ORDER BY i.position, i.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT i.id
    FROM annotate_item AS i
    WHERE i.campaign_id = %(campaign)s AND i.slots_left > 0
      AND (%(every_turn)s OR i.position >= COALESCE((SELECT position FROM last_served), 0))
      AND {open_to_them}
      AND NOT EXISTS (SELECT 1 FROM next_turn)
      AND {unmet}
    ORDER BY i.position, i.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE annotate_item SET slots_left = slots_left - 1
    WHERE id IN (SELECT id FROM next_turn UNION ALL SELECT id FROM picked) AND slots_left > 0
    RETURNING id
), made AS (
    INSERT INTO annotate_assignment (item_id, annotator_id, status, reserved_at, expires_at)
    SELECT id, %(user)s, %(reserved)s, %(now)s, %(expires_at)s FROM taken
    RETURNING id, item_id, reserved_at, expires_at
), found AS (
    SELECT id, item_id, reserved_at, expires_at, true AS was_held FROM held
    UNION ALL
    SELECT id, item_id, reserved_at, expires_at, false FROM made
)
-- One row whatever was found (its columns NULL when nothing), so that the sweep's question
-- (by the partial index of reserved rows' expiry) always has its answer.
SELECT found.*, EXISTS (
    SELECT 1 FROM annotate_assignment WHERE status = %(reserved)s AND expires_at < %(now)s
), CASE WHEN %(commit_unflushed)s THEN set_config('synchronous_commit', 'off', true) END
FROM (VALUES (1)) AS one LEFT JOIN found ON true
"""


# An item ``i`` this annotator may be served now: not served to them before, and they neither hold
# a reservation already nor are paused (the two serving paths of RESERVE_NEXT share it).
OPEN_TO_THEM = """NOT EXISTS (
          SELECT 1 FROM annotate_assignment AS s
          WHERE s.item_id = i.id AND s.annotator_id = %(user)s
      )
      AND NOT EXISTS (SELECT 1 FROM held)
      AND NOT EXISTS (SELECT 1 FROM paused)"""


class Unmet(Enum):
    """Which items a campaign's met targets leave out (annotate/targets.py, ``served_no_more``),
    as a condition on the item ``i``."""

    NO_TARGET = "TRUE"
    OVERALL = """NOT EXISTS (
        SELECT 1 FROM annotate_targetmet WHERE campaign_id = %(campaign)s
    )"""
    PER_CATEGORY = """NOT EXISTS (
        SELECT 1
        FROM inference_response AS r
        JOIN benchmarks_prompt AS p ON p.id = r.prompt_id
        JOIN annotate_targetmet AS t ON t.category = p.category
        WHERE r.id = i.response_id AND t.campaign_id = %(campaign)s
    )"""


def reserve_next_sql(unmet: Unmet) -> str:
    return RESERVE_NEXT.replace("{open_to_them}", OPEN_TO_THEM).replace("{unmet}", unmet.value)


def reserve_next(
    *,
    campaign_id: int,
    user_id: int,
    exclude: Collection[int],
    every_turn: bool,
    unmet: Unmet,
    now: datetime,
    expires_at: datetime,
) -> NextReserved:
    """The annotator's oldest reservation not on their screen, else (``every_turn``) the next
    turn of the conversation they were served last, else a new item from their cursor on, of a
    target not met yet; None when they hold none and nothing lies ahead of their cursor, or they
    are paused. One statement, which commits on its own (outside a transaction); with it, whether
    any reservation had expired.

    Outside a transaction the statement's commit does not wait for the write-ahead log to reach
    the disk (``synchronous_commit`` off for it alone; a label's commit still waits, and with it
    every commit before it). A reservation lost in a crash of the database server costs nothing:
    the screen's signed ticket labels the item all the same (annotate/tickets.py), and the
    item's slot went with it. (One connection, idle machine: an autocommit INSERT took 0.47 ms
    waiting for the flush, 0.17 ms without; bench/RESULTS.md.)"""
    parameters: dict[str, Any] = {
        **PARAMETERS,
        "campaign": campaign_id,
        "user": user_id,
        "exclude": list(exclude),
        "every_turn": every_turn,
        "now": now,
        "expires_at": expires_at,
        # Inside a caller's transaction the setting would reach that transaction's commit.
        "commit_unflushed": not connection.in_atomic_block,
    }
    with prepared_cursor() as cursor:
        cursor.execute(reserve_next_sql(unmet), parameters)
        *found, expired_seen, _ = cursor.fetchone()
    reserved = None if found[0] is None else Reserved(*found)
    return NextReserved(reserved=reserved, expired_seen=expired_seen)
