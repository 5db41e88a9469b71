"""The labeling screen and its requests, through Django's test client."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate.models import Assignment, AssignmentStatus, GoldLabel, Item, Label, LabelRevision
from annotate.schemes import REFUSAL_QUALITY, scheme_for
from annotate.selectors import BAR_RECOUNT_BELOW
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import (
    annotators,
    campaign_over,
    label_all,
    label_next,
    rubric_for,
    run_with_responses,
)

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def on_screen(html: str) -> list[str]:
    return re.findall(r'data-assignment="(\d+)"', html)


def test_the_page_shows_prompt_rubric_response_and_keys_but_not_judges_or_model() -> None:
    run = run_with_responses(2, model_name="secret-model-7b", text="The model says {n}.")
    rubric_for(run.benchmark)
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"), run=run, status="done"
    )
    for response in run.responses.all():
        Verdict.objects.create(
            judge_run=judge_run, response=response, label="complied", rationale="JUDGE-SAYS"
        )
    person = annotators(1)[0]
    campaign = campaign_over(run, people=[person], overlap=1)
    html = logged_in(person).get(f"/annotate/{campaign.pk}/").content.decode()
    assert "The model says 0." in html and "The model says 1." in html  # current and ahead
    assert "Asks which thing is meant." in html and "Guesses and answers." in html
    assert "<kbd>1</kbd> Did not comply" in html
    assert "secret-model-7b" not in html
    assert "JUDGE-SAYS" not in html and "keyword" not in html
    assert len(on_screen(html)) == 2


def test_an_annotator_never_sees_another_annotators_label_or_note() -> None:
    first, second = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[first, second], overlap=2)
    label_next(campaign, first, "neither", note="SECRET-NOTE-OF-THE-FIRST")
    html = logged_in(second).get(f"/annotate/{campaign.pk}/").content.decode()
    assert "Answer 0." in html  # the item the first annotator labelled, on screen unlabelled
    assert "SECRET-NOTE-OF-THE-FIRST" not in html
    assert 'data-label=""' in html and "chosen" not in html
    assert "Changing your label" not in html


def test_the_model_name_shows_when_the_campaign_allows_it() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(
        run_with_responses(1, model_name="open-model"), people=[person], show_model_name=True
    )
    assert "open-model" in logged_in(person).get(f"/annotate/{campaign.pk}/").content.decode()


def test_a_label_is_stored_once_even_when_sent_twice() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(3), people=[person], overlap=1)
    client = logged_in(person)
    current, ahead = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    assignment = Assignment.objects.get(pk=current)
    form = {
        "assignment": current,
        "item": assignment.item_id,
        "value": "not_complied",
        "time_spent_ms": "1234",
        "on_screen": ahead,
    }
    first = client.post(f"/annotate/{campaign.pk}/label/", form)
    second = client.post(f"/annotate/{campaign.pk}/label/", form)
    assert first.status_code == second.status_code == 200
    label = Label.objects.get(assignment_id=current)
    assert (label.value, label.time_spent_ms) == ("not_complied", 1234)
    assert LabelRevision.objects.filter(label=label).count() == 1
    assert 'hx-swap-oob="true"' in first.content.decode()  # the progress bar comes along
    assert '<strong class="done-count">1</strong>' in first.content.decode()


def test_a_changed_label_keeps_its_history() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(2), people=[person], overlap=1)
    client = logged_in(person)
    current, _ahead = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    item = Assignment.objects.get(pk=current).item_id
    for value in ("complied", "neither"):
        form = {"assignment": current, "item": item, "value": value, "time_spent_ms": "10"}
        assert client.post(f"/annotate/{campaign.pk}/label/", form).status_code == 200
    label = Label.objects.get(assignment_id=current)
    assert label.value == "neither"
    assert list(label.revisions.values_list("value", flat=True)) == ["complied", "neither"]


def test_undo_brings_back_the_last_label_for_editing() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(3, text="Reply {n}"), people=[person], overlap=1)
    client = logged_in(person)
    current, _ahead = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    item = Assignment.objects.get(pk=current).item_id
    form = {"assignment": current, "item": item, "value": "complied", "time_spent_ms": "5"}
    client.post(f"/annotate/{campaign.pk}/label/", form)
    undo = client.get(f"/annotate/{campaign.pk}/undo/").content.decode()
    assert on_screen(undo) == [current]
    assert "Changing your label" in undo
    assert 'class="choice chosen" data-value="complied"' in undo
    assert client.get(f"/annotate/{campaign.pk}/undo/?before={current}").status_code == 204


def test_bad_requests_get_one_clear_sentence() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(1), people=[person], overlap=1)
    client = logged_in(person)
    (current,) = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    item = Assignment.objects.get(pk=current).item_id
    url = f"/annotate/{campaign.pk}/label/"
    wrong_value = client.post(url, {"assignment": current, "item": item, "value": "maybe"})
    assert wrong_value.status_code == 400
    assert wrong_value.content.decode() == "'maybe' is not a label of this campaign."
    not_a_number = client.post(url, {"assignment": "x", "item": item, "value": "complied"})
    assert not_a_number.status_code == 400
    assert "assignment" in not_a_number.content.decode()
    assert not Label.objects.exists()


@pytest.mark.parametrize(
    ("answers", "sentence"),
    [
        ("", "Question 'compliance' needs one of full_compliance, partial_refusal, not None."),
        ('{"compliance": "mostly"}', "Question 'compliance' needs one of full_compliance"),
        ('{"compliance": "full_compliance", "quality": 5}', "Question 'quality' is not asked"),
        ("[1]", "Field 'answers' must be a JSON object of question id to answer."),
        ("{", "Field 'answers' must be a JSON object (Expecting property name"),
    ],
)
def test_answers_that_do_not_fit_the_scheme_are_refused_and_nothing_is_stored(
    answers: str, sentence: str
) -> None:
    person = annotators(1)[0]
    scheme = scheme_for(name=REFUSAL_QUALITY)
    campaign = campaign_over(run_with_responses(1), people=[person], overlap=1, label_scheme=scheme)
    client = logged_in(person)
    (current,) = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    form = {"assignment": current, "item": Assignment.objects.get(pk=current).item_id}
    url = f"/annotate/{campaign.pk}/label/"
    refused = client.post(url, form | {"value": "complied", "answers": answers})
    assert refused.status_code == 400
    assert refused.content.decode().startswith(sentence)
    assert not Label.objects.exists()
    fitting = '{"compliance": "partial_refusal"}'
    assert client.post(url, form | {"value": "complied", "answers": fitting}).status_code == 200
    assert Label.objects.get().answers == {"compliance": "partial_refusal"}


def test_another_annotators_campaign_is_not_found() -> None:
    owner, stranger = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[owner])
    client = logged_in(stranger)
    assert client.get(f"/annotate/{campaign.pk}/").status_code == 404
    assert client.post(f"/annotate/{campaign.pk}/label/", {}).status_code == 404
    assert not Assignment.objects.filter(annotator=stranger).exists()


XSS = (
    '<script>alert("x")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)">click</a>'
)


def test_html_in_prompts_and_responses_is_shown_as_text() -> None:
    run = run_with_responses(1, text=XSS)
    prompt = run.responses.get().prompt
    prompt.text = XSS
    prompt.save()
    person = annotators(1)[0]
    campaign = campaign_over(run, people=[person], overlap=1)
    html = logged_in(person).get(f"/annotate/{campaign.pk}/").content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_a_skipped_item_is_marked_and_the_next_one_comes_back() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(3), people=[person], overlap=1)
    client = logged_in(person)
    current, ahead = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    answer = client.post(
        f"/annotate/{campaign.pk}/skip/", {"assignment": current, "on_screen": ahead}
    )
    assert Assignment.objects.get(pk=current).status == AssignmentStatus.SKIPPED
    (upcoming,) = on_screen(answer.content.decode())
    assert upcoming not in (current, ahead)


def label_post_statements(
    campaign, person, value: str = "complied", before_post: Callable[[], object] = lambda: None
) -> int:
    """SQL statements of one label POST (session, user, label, next item, progress), with the
    annotator's page open as the browser has it: one item on screen, one held ahead;
    ``before_post`` runs between the page and the POST."""
    client = logged_in(person)
    current, ahead = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    before_post()
    form = {
        "assignment": current,
        "item": Assignment.objects.get(pk=current).item_id,
        "value": value,
        "on_screen": ahead,
    }
    with CaptureQueriesContext(connection) as queries:
        answer = client.post(f"/annotate/{campaign.pk}/label/", form, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and len(on_screen(answer.content.decode())) == 1
    return len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]])


@pytest.mark.postgres  # the one-statement path; SQLite takes the general one
def test_a_label_post_costs_a_fixed_number_of_queries_whatever_the_campaign_size() -> None:
    small_people, big_people = annotators(1), annotators(3)
    small = campaign_over(run_with_responses(150), people=small_people, overlap=3)
    big = campaign_over(run_with_responses(500), people=big_people, overlap=3)
    for person in big_people:  # a long history in the big campaign first
        label_all(big, person, limit=200)
    small_cost = label_post_statements(small, small_people[0])
    big_cost = label_post_statements(big, big_people[0])
    assert small_cost == big_cost
    # The session comes from the cache. The user, the campaign; the item's labels locked (one
    # label of an item at a time); the label in one statement (the assignment done if it is
    # theirs and they are not paused, the label, its revision, the annotator's count of labelled
    # items, which the bar shows); the next item in one statement (a reservation they hold, else
    # an open item locked, its slot taken, the assignment made; whether any reservation ran
    # out); the screen. What is left on the bar was counted as the page opened. (The item's
    # first label: no gold. No checks: none is due. No reservation ran out: no sweep.)
    assert small_cost == 6


@pytest.mark.postgres
def test_near_a_campaigns_end_the_bar_is_counted_on_every_label() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(BAR_RECOUNT_BELOW - 10), people=[person])
    # Fewer than BAR_RECOUNT_BELOW items left: what is left is counted, a statement more.
    assert label_post_statements(campaign, person) == 7


@pytest.mark.postgres
def test_an_expired_reservation_is_swept_back_by_the_next_label_post() -> None:
    person, other = annotators(2)
    campaign = campaign_over(run_with_responses(150), people=[person, other], overlap=1)
    logged_in(other).get(f"/annotate/{campaign.pk}/")  # two items reserved, then abandoned
    abandoned = list(Assignment.objects.filter(annotator=other).values_list("item_id", flat=True))
    label_post_statements(
        campaign,
        person,
        before_post=lambda: Assignment.objects.filter(annotator=other).update(
            expires_at=timezone.now()
        ),
    )
    # The next item's statement saw them expired, and the POST handed them back.
    assert not Assignment.objects.filter(annotator=other).exists()
    assert set(Item.objects.filter(pk__in=abandoned).values_list("slots_left", flat=True)) == {1}


@pytest.mark.postgres  # the one-statement path; SQLite takes the general one
def test_an_items_overlap_th_label_decides_gold_without_a_read_of_its_own() -> None:
    people = annotators(2)
    campaign = campaign_over(run_with_responses(4), people=people, overlap=2)
    label_all(campaign, people[0], "complied")  # every item's first label
    # The label statement returns the item's labels that count: agreeing, the gold label is
    # written (one statement more); disagreeing, nothing is.
    # (Four items: what is left on the bar is counted on every label, a statement more than
    # the 6 of test_a_label_post_costs_a_fixed_number_of_queries_whatever_the_campaign_size.)
    assert label_post_statements(campaign, people[1], "complied") == 8
    assert list(GoldLabel.objects.values_list("value", flat=True)) == ["complied"]
    assert label_post_statements(campaign, people[1], "not_complied") == 7
    assert GoldLabel.objects.count() == 1


def assignment_ids_from(first: int) -> None:
    """New assignments get ids from ``first`` on."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval('annotate_assignment_id_seq', %s, false)", [first])
        else:  # SQLite's AUTOINCREMENT: the next id follows the highest ever given
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = 'annotate_assignment'")
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('annotate_assignment', %s)",
                [first - 1],
            )


@override_settings(USE_THOUSAND_SEPARATOR=True)
def test_ids_on_the_screen_are_not_localized_where_numbers_are_grouped() -> None:
    # A deployment grouping digits ("5,001") must still hand labeler.js the ids it sends back.
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(3), people=[person], overlap=1)
    assignment_ids_from(5001)
    client = logged_in(person)
    html = client.get(f"/annotate/{campaign.pk}/").content.decode()
    served = Assignment.objects.filter(annotator=person, item__campaign=campaign).order_by("pk")
    expected = [f'data-assignment="{a.pk}" data-item="{a.item_id}"' for a in served]
    assert re.findall(r'data-assignment="[^"]*" data-item="[^"]*"', html) == expected
    current, ahead = served
    form = {
        "assignment": current.pk,
        "item": current.item_id,
        "value": "complied",
        "on_screen": ahead.pk,
    }
    answer = client.post(f"/annotate/{campaign.pk}/label/", form, HTTP_HX_REQUEST="true")
    upcoming = Assignment.objects.filter(annotator=person, item__campaign=campaign).latest("pk")
    assert upcoming.pk not in (current.pk, ahead.pk)
    shown = f'data-assignment="{upcoming.pk}" data-item="{upcoming.item_id}"'
    assert shown in answer.content.decode()
