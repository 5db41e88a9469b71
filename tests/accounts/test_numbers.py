"""Numbers in query strings: digits that are not ASCII ("²", "٣") are refused, not a crash."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.numbers import MAX_ID, whole_number
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("7", 7), ("0", None), ("²", None), ("٣", None), ("-3", None), ("", None), (" 7", None)],
)
def test_only_ascii_digits_in_range_are_whole_numbers(raw: str, expected: int | None) -> None:
    assert whole_number(raw) == expected


def test_ids_stop_at_what_the_database_holds() -> None:
    assert whole_number(str(MAX_ID)) == MAX_ID
    assert whole_number(str(MAX_ID + 1)) is None


@pytest.mark.django_db
@pytest.mark.parametrize("odd", ["²", "٣", "99999999999999999999999"])
def test_pages_taking_numbers_in_the_query_answer_odd_ones_without_failing(odd: str) -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(2), people=[person])
    annotator, researcher = Client(), Client()
    annotator.force_login(person)
    researcher.force_login(UserFactory.create(role="researcher"))
    assert annotator.get(f"/annotate/{campaign.pk}/undo/?before={odd}").status_code == 204
    assert researcher.get(f"/campaigns/{campaign.pk}/review/?item={odd}").status_code == 200
    assert researcher.get(f"/analysis/runs/?run={odd}").status_code == 200
