"""The label POST's own reads (issue 17): the screen written as one SQL statement
(accounts/joined.py) reads what the ORM reads, and the progress bar counted at most every few
seconds shows what is left."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext

from annotate.models import Assignment, Campaign
from annotate.selectors import (
    BAR_RECOUNT_BELOW,
    annotator_progress,
    campaign_for_annotator,
    screen_for,
)
from annotate.services.serving import assignment_next
from benchmarks.models import Rubric
from tests.annotate.builders import (
    annotators,
    campaign_over,
    label_all,
    label_next,
    pairwise_over,
    rubric_for,
    run_with_responses,
    runs_on_the_same_prompts,
)

pytestmark = pytest.mark.django_db


def through_the_orm(assignment_id: int) -> Assignment:
    return Assignment.objects.select_related(
        "item__response__prompt", "item__response__run", "item__response_b__run"
    ).get(pk=assignment_id)


def test_the_screen_reads_what_the_orm_reads_with_label_and_current_rubric() -> None:
    run = run_with_responses(3, text="Answer {n}, with “quotes” and <b>tags</b>.")
    old = rubric_for(run.benchmark)
    Rubric.objects.filter(pk=old.pk).update(is_current=False)
    current = Rubric.objects.create(
        benchmark=run.benchmark,
        subcategory="underspecified",
        acceptable="Asks back.",
        unacceptable="Guesses.",
        version="v2",
    )
    person = annotators(1)[0]
    campaign = campaign_over(run, people=[person], overlap=1)
    labelled = label_next(campaign, person, "not_complied", note="see turn 1")
    assert labelled is not None
    held = assignment_next(campaign=campaign, user=person)
    assert held is not None
    for assignment_id, has_label in ((labelled.pk, True), (held.pk, False)):
        screen = screen_for(assignment_id=assignment_id)
        orm = through_the_orm(assignment_id)
        shown, expected = screen.assignment, orm
        assert (shown.pk, shown.status, shown.annotator_id, shown.item_id) == (
            expected.pk,
            expected.status,
            expected.annotator_id,
            expected.item_id,
        )
        response, expected_response = shown.item.response, expected.item.response
        for name in ("text", "finish_reason", "turn", "messages", "prompt_id", "run_id"):
            assert getattr(response, name) == getattr(expected_response, name)
        for name in ("category", "subcategory", "text", "messages", "user_turns"):
            assert getattr(response.prompt, name) == getattr(expected_response.prompt, name)
        assert response.run.model_name == expected_response.run.model_name
        assert (shown.item.check_kind, shown.item.check_answer) == (
            expected.item.check_kind,
            expected.item.check_answer,
        )
        assert screen.rubric is not None
        assert (screen.rubric.acceptable, screen.rubric.unacceptable) == (
            current.acceptable,
            current.unacceptable,
        )
        if has_label:
            assert screen.label is not None
            assert (screen.label.value, screen.label.answers, screen.label.note) == (
                orm.label.value,
                orm.label.answers,
                orm.label.note,
            )
        else:
            assert screen.label is None


def test_a_pairwise_screen_reads_both_sides_in_their_order() -> None:
    runs = runs_on_the_same_prompts(4)
    person = annotators(1)[0]
    campaign = pairwise_over(runs, people=[person])
    first = assignment_next(campaign=campaign, user=person)
    assert first is not None
    second = assignment_next(campaign=campaign, user=person, exclude=[first.pk])
    for assignment in (first, second):
        assert assignment is not None
        item = screen_for(assignment_id=assignment.pk, pairwise=True).assignment.item
        expected = through_the_orm(assignment.pk).item
        assert item.swapped == expected.swapped
        assert item.response_b is not None and expected.response_b is not None
        assert item.response_b.text == expected.response_b.text
        assert item.left.run.model_name == expected.left.run.model_name
        right, expected_right = item.right, expected.right
        assert right is not None and expected_right is not None
        assert right.run.model_name == expected_right.run.model_name
        assert item.left.text == expected.left.text


def test_the_screen_renders_from_its_one_statement() -> None:
    """Every field the item's markup reads comes with the statement: none is fetched later."""
    run = run_with_responses(2)
    rubric_for(run.benchmark)
    person = annotators(1)[0]
    campaign = campaign_over(run, people=[person], overlap=1)
    assignment = assignment_next(campaign=campaign, user=person)
    assert assignment is not None
    with CaptureQueriesContext(connection) as queries:
        screen = screen_for(assignment_id=assignment.pk)
        html = render_to_string(
            "annotate/label.html#item", {"campaign": campaign, "screen": screen}
        )
    assert len(queries.captured_queries) == 1
    assert "Asks which thing is meant." in html and "Answer " in html


def test_a_campaign_is_found_only_for_its_annotators() -> None:
    from django.http import Http404

    run = run_with_responses(1)
    member, outsider = annotators(2)
    campaign = campaign_over(run, people=[member], overlap=1)
    found = campaign_for_annotator(pk=campaign.pk, user=member)
    assert (found.pk, found.name, found.label_scheme) == (
        campaign.pk,
        campaign.name,
        Campaign.objects.get(pk=campaign.pk).label_scheme,
    )
    with pytest.raises(Http404):
        campaign_for_annotator(pk=campaign.pk, user=outsider)


# --- The progress bar -----------------------------------------------------------------------


def left_on_bar(html: str) -> int:
    found = re.search(r'class="left-count">(\d+)\+?<', html)
    assert found is not None, html[:500]
    return int(found.group(1))


class Labeler:
    """An annotator's browser: the page open, then a label POST per key press."""

    def __init__(self, campaign: Campaign, person) -> None:
        self.client = Client()
        self.client.force_login(person)
        self.campaign = campaign
        self.open()

    def open(self) -> int:
        html = self.client.get(f"/annotate/{self.campaign.pk}/").content.decode()
        self.screen = re.findall(r'data-assignment="(\d+)" data-item="(\d+)"', html)
        return left_on_bar(html)

    def label(self) -> int:
        (assignment, item), *ahead = self.screen
        answer = self.client.post(
            f"/annotate/{self.campaign.pk}/label/",
            {
                "assignment": assignment,
                "item": item,
                "value": "complied",
                "on_screen": ahead[0][0] if ahead else "",
            },
            HTTP_HX_REQUEST="true",
        )
        html = answer.content.decode()
        self.screen = [*ahead, *re.findall(r'data-assignment="(\d+)" data-item="(\d+)"', html)]
        return left_on_bar(html)


@pytest.fixture(autouse=True)
def _empty_cache():
    caches["process"].clear()


def test_the_bar_counts_down_with_the_annotators_own_labels() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(BAR_RECOUNT_BELOW + 30), people=[person], overlap=1)
    labeler = Labeler(campaign, person)
    for _ in range(5):
        shown = labeler.label()
        assert shown == annotator_progress(campaign=campaign, user=person).remaining


def test_others_labels_show_at_the_next_count_and_the_end_at_once() -> None:
    first, second = annotators(2)
    size = BAR_RECOUNT_BELOW + 30
    campaign = campaign_over(run_with_responses(size), people=[first, second], overlap=1)
    labeler = Labeler(campaign, first)
    for _ in range(10):  # ten items fewer for the first annotator
        label_next(campaign, second)
    # Kept from the page's count: their own label taken off, the others' not yet.
    assert labeler.label() == size - 1
    exact = annotator_progress(campaign=campaign, user=first).remaining
    assert exact == size - 1 - 10
    assert labeler.open() == exact  # opening the page counts
    label_all(campaign, second)  # the second takes every other item
    # The first still holds the item ahead of the one on screen, then nothing: each counted.
    assert labeler.label() == 1 == annotator_progress(campaign=campaign, user=first).remaining
    assert labeler.label() == 0


def test_near_the_end_every_label_counts() -> None:
    first, second = annotators(2)
    size = BAR_RECOUNT_BELOW - 20
    campaign = campaign_over(run_with_responses(size), people=[first, second], overlap=1)
    labeler = Labeler(campaign, first)
    for _ in range(10):
        label_next(campaign, second)
    shown = labeler.label()
    assert shown == annotator_progress(campaign=campaign, user=first).remaining == size - 1 - 10
