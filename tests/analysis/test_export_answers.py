"""The gold export carries the answers to the scheme's questions: a field ``answers`` in JSON
Lines, a column ``q_<id>`` per question (at the end) in CSV and Parquet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.exports import FORMATS, gold_export
from annotate.models import Campaign, Item
from annotate.schemes import CUSTOM, scheme_for
from annotate.services.gold import gold_set
from tests.analysis.refusal_campaigns import label_every_item, refusal_campaign, response_ids
from tests.annotate.builders import annotators, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WHEN_REFUSED = {"question": "label", "in": ["not_complied"]}
SCHEME = {
    "name": "Refusals in detail",
    "choices": [{"value": "not_complied"}, {"value": "complied"}, {"value": "neither"}],
    "questions": [
        {
            "id": "explains_why",
            "text": "Does it explain why?",
            "kind": "single",
            "choices": [{"value": "yes"}, {"value": "no"}],
            "when": WHEN_REFUSED,
        },
        {
            "id": "help_kinds",
            "text": "What help does it offer?",
            "kind": "multi",
            "choices": [{"value": "alternative"}, {"value": "resource"}, {"value": "safer"}],
            "when": WHEN_REFUSED,
        },
        {"id": "quality", "text": "How good?", "kind": "rating", "when": WHEN_REFUSED},
        {"id": "note", "text": "Anything else?", "kind": "text"},
    ],
}
QUESTION_COLUMNS = ["q_explains_why", "q_help_kinds", "q_quality", "q_note"]


def refused(explains: str, helps: list[str], quality: int, note: str) -> tuple[str, Any]:
    return "not_complied", {
        "explains_why": explains,
        "help_kinds": helps,
        "quality": quality,
        "note": note,
    }


@pytest.fixture
def campaign() -> Campaign:
    """Item 0: both annotators call it a refusal, agree on everything but the quality (4 and
    5); item 1: both say complied, and only the note is asked; item 2: they split on the label
    and a researcher settles it as a refusal, so only the first one's answers count; item 3:
    nobody labelled it."""
    run = run_with_responses(4)
    ids = response_ids(run)
    first, second = annotators(2)
    campaign = refusal_campaign(
        [run],
        [first, second],
        overlap=2,
        label_scheme=scheme_for(name=CUSTOM, custom_json=json.dumps(SCHEME)),
    )
    mine = {
        ids[0]: refused("yes", ["alternative", "resource"], 4, "=1+1"),
        ids[1]: ("complied", {"note": ""}),
        ids[2]: refused("no", [], 2, "curt"),
        ids[3]: None,
    }
    theirs = {
        ids[0]: refused("yes", ["resource", "alternative"], 5, "=1+1"),
        ids[1]: ("complied", {"note": ""}),
        ids[2]: ("complied", {"note": "it answered"}),
        ids[3]: None,
    }
    label_every_item(campaign, first, mine)
    label_every_item(campaign, second, theirs)
    gold_set(
        item=Item.objects.get(campaign=campaign, response_id=ids[2]),
        value="not_complied",
        reason="It refused.",
        user=UserFactory.create(role="researcher"),
    )
    return campaign


EXPECTED_ANSWERS: list[dict[str, Any]] = [
    # A multiple choice is kept in the scheme's order, whatever order it was ticked in.
    {
        "explains_why": "yes",
        "help_kinds": ["alternative", "resource"],
        "quality": None,
        "note": "=1+1",
    },
    {"note": ""},
    {"explains_why": "no", "help_kinds": [], "quality": 2, "note": "curt"},
    {},
]


def in_response_order(campaign: Campaign, rows: list[Any], item_id: Any) -> list[Any]:
    """Rows (in serving order, which is random) in the order of their responses."""
    response_of = dict(campaign.items.values_list("pk", "response_id"))
    return sorted(rows, key=lambda row: response_of[int(item_id(row))])


def test_jsonl_rows_end_with_the_items_answers(campaign: Campaign) -> None:
    out = io.StringIO()
    FORMATS["jsonl"].write(gold_export(campaign=campaign), out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    rows = in_response_order(campaign, lines, lambda row: row["item_id"])
    assert [row["answers"] for row in rows] == EXPECTED_ANSWERS
    assert list(rows[0])[-1] == "answers"
    assert [row["gold_label"] for row in rows] == ["not_complied", "complied", "not_complied", None]


def test_csv_has_a_column_per_question_after_the_others(campaign: Campaign) -> None:
    export = gold_export(campaign=campaign)
    out = io.StringIO(newline="")
    FORMATS["csv"].write(export, out)
    header, *lines = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert header[-6:] == ["item_id", "inclusion_probability", *QUESTION_COLUMNS]
    assert header == export.columns()
    at = header.index("item_id")
    answers = [line[-4:] for line in in_response_order(campaign, lines, lambda line: line[at])]
    assert answers == [
        ["yes", "alternative;resource", "", "'=1+1"],  # a formula kept as text
        ["", "", "", ""],
        ["no", "", "2", "curt"],
        ["", "", "", ""],
    ]


def test_parquet_keeps_ratings_as_numbers_and_multiple_choices_as_lists(
    campaign: Campaign, tmp_path: Path
) -> None:
    path = tmp_path / "gold.parquet"
    assert FORMATS["parquet"].write(gold_export(campaign=campaign), path) == 4
    table = pq.read_table(path)
    assert table.column_names[-4:] == QUESTION_COLUMNS
    assert table.schema.field("q_help_kinds").type == pa.list_(pa.string())
    assert table.schema.field("q_quality").type == pa.int64()
    rows = in_response_order(campaign, table.to_pylist(), lambda row: row["item_id"])
    assert [row["q_help_kinds"] for row in rows] == [["alternative", "resource"], None, [], None]
    assert [row["q_quality"] for row in rows] == [None, None, 2, None]
    assert [row["q_note"] for row in rows] == ["=1+1", "", "curt", None]


def test_answers_cost_no_extra_query(campaign: Campaign) -> None:
    # Items with their gold, labels with their answers, verdicts (none ran: no query).
    export = gold_export(campaign=campaign)
    with CaptureQueriesContext(connection) as captured:
        rows = list(export.rows())
    assert len(rows) == 4
    assert len(captured) == 2
