"""Campaigns say what they are: the sample drawn, the names they filter on, whether they take
labels, and a review page that shows what annotators saw and what is left to settle."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotate.models import Campaign, GoldLabel, Label
from annotate.selectors import campaign_progress
from annotate.services.errors import CampaignError, LabelError
from annotate.services.gold import gold_set
from annotate.services.labels import label_submit
from annotate.services.quality import standing_change
from annotate.services.serving import assignment_next, assignment_skip
from benchmarks.models import Benchmark
from inference.models import GenerationRun, Response
from tests.annotate.builders import (
    annotators,
    campaign_over,
    label_next,
    rubric_for,
    run_with_responses,
)
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def researcher() -> Client:
    return logged_in(UserFactory.create(role="researcher"))


def visible_text(html: str) -> str:
    """The page as a reader sees it: tags, and so attribute values, removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def two_category_run(count: int = 8) -> GenerationRun:
    """Responses alternating between two categories, each with its own subcategory."""
    benchmark: Benchmark = BenchmarkFactory.create()
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="m", status="done", total=count
    )
    places = [("Incomplete requests", "underspecified"), ("Unsupported requests", "modality")]
    for n in range(count):
        category, subcategory = places[n % 2]
        Response.objects.create(
            run=run,
            prompt=PromptFactory.create(
                benchmark=benchmark, category=category, subcategory=subcategory
            ),
            text=f"Answer {n}.",
        )
    return run


def form_fields(run: GenerationRun, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Pilot",
        "runs": [run.pk],
        "sampling": "all",
        "seed": "0",
        "overlap": "1",
        "scheme": "coconot",
        "reservation_minutes": "30",
    } | changes


# --- The sample drawn --------------------------------------------------------------------------


def test_a_sample_larger_than_the_pool_is_stored_and_shown_as_drawn() -> None:
    run = run_with_responses(5)
    campaign = campaign_over(run, sampling="random", sample_size=1_000_000)
    assert (campaign.sample_size, campaign.sample_size_asked, campaign.pool_size) == (
        5,
        1_000_000,
        5,
    )
    page = visible_text(researcher().get(f"/campaigns/{campaign.pk}/").content.decode())
    assert "5 items drawn: the pool had only 5 of the 1,000,000 asked" in page
    assert "1000000 items" not in page


def test_a_sample_within_the_pool_says_how_many_were_drawn_from_how_many() -> None:
    campaign = campaign_over(run_with_responses(30), sampling="random", sample_size=6)
    page = visible_text(researcher().get(f"/campaigns/{campaign.pk}/").content.decode())
    assert "6 items drawn from 30" in page
    assert "the pool had only" not in page


def test_six_items_over_eighteen_subcategories_reach_every_subcategory_across_seeds() -> None:
    subcategories = [f"sub-{n:02d}" for n in range(18)]
    run = run_with_responses(36, subcategories=subcategories)
    drawn: set[str] = set()
    for seed in range(40):
        campaign = campaign_over(
            run, name=f"seed {seed}", sampling="stratified", sample_size=6, seed=seed
        )
        rows = campaign.items.values_list("response__prompt__subcategory", "inclusion_probability")
        assert len(rows) == 6
        assert [p for _, p in rows] == pytest.approx([6 / 18 / 2] * 6)
        drawn |= {sub for sub, _ in rows}
    assert drawn == set(subcategories)


# --- Category and subcategory names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "field", "message"),
    [
        ({"categories": ["nonsense"]}, "categories", "Category 'nonsense' is not in the chosen"),
        (
            {"categories": ["incomplete requests"]},
            "categories",
            "Category 'incomplete requests' is not in the chosen runs (did you mean "
            "'Incomplete requests'? Names are case-sensitive).",
        ),
        (
            {"subcategories": ["Underspecified", "nonsense"]},
            "subcategories",
            "Subcategories 'Underspecified', 'nonsense' are not in the chosen runs (did you "
            "mean 'underspecified'? Names are case-sensitive).",
        ),
        (
            {"categories": ["Incomplete requests"], "subcategories": ["modality"]},
            "subcategories",
            "Subcategory 'modality' is not in the chosen categories (Incomplete requests).",
        ),
    ],
)
def test_unknown_category_names_are_refused_naming_them(
    filters: dict[str, Any], field: str, message: str
) -> None:
    run = two_category_run()
    with pytest.raises(CampaignError) as refused:
        campaign_over(run, **filters)
    assert message in str(refused.value)
    assert refused.value.field == field
    api = APIClient()
    api.force_authenticate(UserFactory.create(role="researcher"))
    answer = api.post("/api/campaigns/", {"name": "x", "runs": [run.pk]} | filters, format="json")
    assert answer.status_code == 400
    assert message in answer.json()[field][0]
    assert not Campaign.objects.exists()


def test_known_names_filter_the_pool() -> None:
    run = two_category_run()
    campaign = campaign_over(run, categories=["Unsupported requests"], subcategories=["modality"])
    assert campaign.items.count() == 4


def test_the_form_offers_the_chosen_runs_categories_as_pick_lists() -> None:
    run = two_category_run()
    client = researcher()
    empty = client.get("/campaigns/new/").content.decode()
    assert "Tick runs to choose among their categories." in empty
    picks = client.get(f"/campaigns/new/picks/?runs={run.pk}").content.decode()
    for name in ("Incomplete requests", "Unsupported requests"):
        assert f'type="checkbox" name="categories" value="{name}"' in picks
    for name in ("underspecified", "modality"):
        assert f'type="checkbox" name="subcategories" value="{name}"' in picks
    assert 'id="picks"' in picks and "<html" not in picks  # the part htmx swaps in


def test_without_javascript_update_the_lists_keeps_what_was_filled_in() -> None:
    run = two_category_run()
    answer = researcher().post(
        "/campaigns/new/", form_fields(run, name="Kept name", refresh="1", overlap="2")
    )
    page = answer.content.decode()
    assert answer.status_code == 200
    assert 'value="Kept name"' in page
    assert 'type="checkbox" name="categories" value="Unsupported requests"' in page
    assert "This field is required" not in page
    assert not Campaign.objects.exists()


def test_the_form_creates_a_campaign_from_the_picked_names() -> None:
    run = two_category_run()
    answer = researcher().post(
        "/campaigns/new/", form_fields(run, categories=["Unsupported requests"])
    )
    assert answer.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.categories == ["Unsupported requests"]
    assert campaign.items.count() == 4


def test_the_form_refuses_a_name_the_runs_do_not_have_and_names_it() -> None:
    run = two_category_run()
    answer = researcher().post("/campaigns/new/", form_fields(run, categories=["nonsense"]))
    assert answer.status_code == 400
    assert "Category &#x27;nonsense&#x27; is not in the chosen runs." in answer.content.decode()
    answer = researcher().post(
        "/campaigns/new/",
        form_fields(run, categories=["Incomplete requests"], subcategories=["modality"]),
    )
    assert answer.status_code == 400
    assert "Subcategory &#x27;modality&#x27; is not in the chosen categories" in (
        answer.content.decode()
    )
    assert not Campaign.objects.exists()


def test_the_form_page_has_no_inline_script_or_style() -> None:
    two_category_run()
    page = researcher().get("/campaigns/new/").content.decode()
    start = page.index('<form method="post" action="/campaigns/new/"')
    form = page[start : page.index("</form>", start)]
    assert "<script" not in form
    assert not re.search(r"\sstyle=|\son[a-z]+=", form)
    # The custom-scheme box is a field of its own, which the style sheet shows only with the
    # custom scheme (the browser test checks that it does).
    assert 'class="field field-custom_scheme"' in form


# --- Closing, archiving, reopening -------------------------------------------------------------


def set_status(client: Client, campaign: Campaign, status: str) -> str:
    answer = client.post(f"/campaigns/{campaign.pk}/status/", {"status": status}, follow=True)
    assert answer.status_code == 200
    return visible_text(answer.content.decode())


def test_a_closed_campaign_takes_no_labels_and_says_so() -> None:
    (person,) = annotators(1)
    campaign = campaign_over(run_with_responses(3), people=[person], overlap=1)
    annotator = logged_in(person)
    page = annotator.get(f"/annotate/{campaign.pk}/").content.decode()
    (assignment,) = re.findall(r'data-assignment="(\d+)"', page)[:1]
    item = re.search(r'data-item="(\d+)"', page)
    assert item is not None
    assert "Campaign closed" in set_status(researcher(), campaign, "closed")

    listed = visible_text(annotator.get("/annotate/").content.decode())
    assert "Pilot Closed" in listed and "Start labeling" not in listed
    label_page = visible_text(annotator.get(f"/annotate/{campaign.pk}/").content.decode())
    assert "This campaign is closed: it takes no more labels." in label_page
    refused = annotator.post(
        f"/annotate/{campaign.pk}/label/",
        {"assignment": assignment, "item": item.group(1), "value": "complied"},
    )
    assert refused.status_code == 400
    assert "This campaign is closed" in refused.content.decode()
    assert not campaign.items.filter(assignments__label__isnull=False).exists()

    assert "Campaign reopened" in set_status(researcher(), campaign, "open")
    assert "Start labeling" in annotator.get("/annotate/").content.decode()


def test_a_closed_campaign_refuses_labels_and_skips_whoever_calls_the_services() -> None:
    (person,) = annotators(1)
    campaign = campaign_over(run_with_responses(2), people=[person], overlap=1)
    held = assignment_next(campaign=campaign, user=person)
    assert held is not None
    Campaign.objects.filter(pk=campaign.pk).update(status="closed")
    campaign.refresh_from_db()
    with pytest.raises(LabelError, match="This campaign is closed"):
        label_submit(
            campaign=campaign,
            user=person,
            assignment_id=held.pk,
            item_id=held.item_id,
            value="complied",
        )
    with pytest.raises(LabelError, match="This campaign is closed"):
        assignment_skip(campaign=campaign, user=person, assignment_id=held.pk)
    held.refresh_from_db()
    assert held.status == "reserved"


def test_an_archived_campaign_is_hidden_until_asked_for() -> None:
    (person,) = annotators(1)
    kept = campaign_over(run_with_responses(1), name="Kept", people=[person])
    gone = campaign_over(run_with_responses(1), name="Old study", people=[person])
    client = researcher()
    set_status(client, gone, "archived")
    assert "Old study" not in logged_in(person).get("/annotate/").content.decode()
    listing = visible_text(client.get("/campaigns/").content.decode())
    assert "Old study" not in listing and kept.name in listing
    assert "Show archived campaigns (1)" in listing
    archived = visible_text(client.get("/campaigns/?archived=1").content.decode())
    assert "Old study Archived" in archived
    detail = visible_text(client.get(f"/campaigns/{gone.pk}/").content.decode())
    assert "Archived" in detail and "Reopen" in detail


def test_only_researchers_change_a_campaign_s_status() -> None:
    (person,) = annotators(1)
    campaign = campaign_over(run_with_responses(1), people=[person])
    answer = logged_in(person).post(f"/campaigns/{campaign.pk}/status/", {"status": "closed"})
    assert answer.status_code == 403
    answer = researcher().post(f"/campaigns/{campaign.pk}/status/", {"status": "gone"}, follow=True)
    assert "Status &#x27;gone&#x27; is not one of open, closed, archived." in (
        answer.content.decode()
    )
    campaign.refresh_from_db()
    assert campaign.status == "open"


# --- The review page ---------------------------------------------------------------------------


def disputed_campaign() -> tuple[Campaign, list[int]]:
    """Two items, both disputed: one annotator says complied, the other did not comply."""
    run = run_with_responses(2)
    rubric_for(run.benchmark)
    people = annotators(2)
    campaign = campaign_over(run, people=people, overlap=2)
    items = []
    for person, value in zip(people, ["complied", "not_complied"], strict=True):
        items = [
            served.item_id for _ in range(2) if (served := label_next(campaign, person, value))
        ]
    return campaign, items


def test_the_review_page_shows_display_names_the_rubric_and_no_preselected_gold() -> None:
    campaign, _ = disputed_campaign()
    html = researcher().get(f"/campaigns/{campaign.pk}/review/").content.decode()
    text = visible_text(html)
    assert "Did not comply" in text and "Complied" in text
    assert "not_complied" not in text and " complied " not in text
    assert "Asks which thing is meant." in text and "Guesses and answers." in text
    selects = re.findall(r'<select name="value".*?</select>', html, re.S)
    assert len(selects) == 2
    for select in selects:
        assert re.findall(r'<option value="([^"]*)" selected>', select) == [""]


def test_the_review_page_lists_unsettled_items_by_default_and_all_on_request() -> None:
    campaign, items = disputed_campaign()
    settled, unsettled = sorted(items)
    gold_set(
        item=campaign.items.get(pk=settled),
        value="neither",
        reason="Off topic.",
        user=UserFactory.create(role="researcher"),
    )
    client = researcher()
    default = client.get(f"/campaigns/{campaign.pk}/review/").content.decode()
    assert f'id="item-{unsettled}"' in default and f'id="item-{settled}"' not in default
    assert "1 unsettled disagreement" in visible_text(default)
    assert "All disagreements, with the 1 settled" in visible_text(default)
    every = client.get(f"/campaigns/{campaign.pk}/review/?show=all").content.decode()
    assert f'id="item-{unsettled}"' in every and f'id="item-{settled}"' in every
    assert "Gold: Neither" in visible_text(every)
    page = visible_text(client.get(f"/campaigns/{campaign.pk}/").content.decode())
    assert "1 item where annotators disagree, not settled yet (1 settled with a gold label)" in page


def test_settling_from_the_review_page_takes_the_item_off_the_unsettled_list() -> None:
    campaign, items = disputed_campaign()
    client = researcher()
    url = f"/campaigns/{campaign.pk}/review/"
    answer = client.post(
        f"/campaigns/{campaign.pk}/items/{items[0]}/gold/",
        {"value": "complied", "reason": "It answered.", "next": url},
        follow=True,
    )
    text = visible_text(answer.content.decode())
    assert f"Gold label set for item {items[0]}." in text
    assert "1 unsettled disagreement" in text
    empty_choice = client.post(
        f"/campaigns/{campaign.pk}/items/{items[1]}/gold/",
        {"value": "", "reason": "Forgot to choose.", "next": url},
        follow=True,
    )
    assert "Give a label and a reason" in visible_text(empty_choice.content.decode())
    assert GoldLabel.objects.count() == 1


# --- Truncated responses -----------------------------------------------------------------------


def test_a_campaign_can_leave_out_truncated_responses() -> None:
    run = run_with_responses(6)
    cut = list(run.responses.order_by("pk").values_list("pk", flat=True)[:2])
    Response.objects.filter(pk__in=cut).update(finish_reason="length")
    Response.objects.exclude(pk__in=cut).update(finish_reason="stop")
    kept = campaign_over(run, name="All of it")
    assert kept.items.count() == 6
    answer = researcher().post(
        "/campaigns/new/", form_fields(run, name="Whole answers", exclude_truncated="on")
    )
    assert answer.status_code == 302
    campaign = Campaign.objects.get(name="Whole answers")
    assert campaign.exclude_truncated
    assert campaign.items.count() == 4
    assert not campaign.items.filter(response__in=cut).exists()
    page = visible_text(researcher().get(answer["Location"]).content.decode())
    assert "Truncated responses left out" in page


def test_the_api_can_leave_out_truncated_responses_and_says_when_nothing_is_left() -> None:
    run = run_with_responses(3)
    run.responses.update(finish_reason="length")
    api = APIClient()
    api.force_authenticate(UserFactory.create(role="researcher"))
    answer = api.post(
        "/api/campaigns/",
        {"name": "x", "runs": [run.pk], "exclude_truncated": True},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["non_field_errors"] == [
        "No responses match: all 3 matching responses were cut off at the length limit, and "
        "truncated responses are excluded."
    ]
    answer = api.post("/api/campaigns/", {"name": "x", "runs": [run.pk]}, format="json")
    assert answer.status_code == 201
    assert answer.json()["exclude_truncated"] is False and answer.json()["item_count"] == 3


# --- The campaign's totals ---------------------------------------------------------------------


def totals_by_hand(campaign: Campaign) -> dict[str, int]:
    """The campaign page's totals counted in Python from every item's labels (no excluded
    annotator's), the way a reader of the export would count them."""
    excluded = set(
        campaign.standings.filter(excluded_at__isnull=False).values_list("annotator_id", flat=True)
    )
    totals = {"items": 0, "labels": 0, "complete": 0, "unsettled": 0, "settled": 0}
    for item in campaign.items.filter(check_kind="").prefetch_related("assignments__label"):
        values = [
            a.label.value
            for a in item.assignments.all()
            if hasattr(a, "label") and a.annotator_id not in excluded
        ]
        waits = item.slots_left > 0 and len(values) >= campaign.overlap
        disagree = len(set(values)) > 1 and not waits
        has_gold = GoldLabel.objects.filter(item=item).exists()
        totals["items"] += 1
        totals["labels"] += len(values)
        totals["complete"] += len(values) >= campaign.overlap
        totals["unsettled"] += disagree and not has_gold
        totals["settled"] += disagree and has_gold
    return totals


def test_the_campaign_totals_count_labelled_and_unlabelled_items_as_the_labels_say() -> None:
    run = run_with_responses(12)
    rubric_for(run.benchmark)
    people = annotators(3)
    campaign = campaign_over(run, people=people, overlap=2)
    values = ["complied", "not_complied", "neither"]
    for turn, person in enumerate(people):
        for n in range(4 + 2 * turn):
            label_next(campaign, person, values[(n * (turn + 1)) % 3])
    boss = UserFactory.create(role="researcher")
    values_of: dict[int, set[str]] = {}
    for item_id, value in Label.objects.filter(assignment__item__campaign=campaign).values_list(
        "assignment__item_id", "value"
    ):
        values_of.setdefault(item_id, set()).add(value)
    disputed = sorted(item_id for item_id, seen in values_of.items() if len(seen) > 1)
    gold_set(item=campaign.items.get(pk=disputed[0]), value="neither", reason="Read.", user=boss)
    standing_change(campaign=campaign, annotator=people[2], action="exclude", by=boss)
    progress = campaign_progress(campaign=campaign)
    shown = {
        "items": progress.items,
        "labels": progress.labels,
        "complete": progress.complete_items,
        "unsettled": progress.unsettled,
        "settled": progress.settled,
    }
    expected = totals_by_hand(campaign)
    assert shown == expected, expected
    assert expected["labels"] > 0 and expected["complete"] < expected["items"]
    assert expected["unsettled"] + expected["settled"] > 0
