"""A researcher in a real browser: a campaign made from the pick lists, then the review page's
unsettled-only list, where settling an item takes it off the list.

Each step waits on what the page shows (htmx swaps the pick lists in), never on a timer.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotate.models import Campaign, GoldLabel
from inference.models import GenerationRun, Response
from tests.annotate.builders import annotators, label_all
from tests.browser.conftest import BrowserSession
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PageFor = Callable[..., BrowserSession]
PLACES = [("Incomplete requests", "underspecified"), ("Unsupported requests", "modality")]


def run_in_two_categories(count: int) -> GenerationRun:
    benchmark = BenchmarkFactory.create()
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="model-under-test", status="done", total=count
    )
    for n in range(count):
        category, subcategory = PLACES[n % 2]
        Response.objects.create(
            run=run,
            prompt=PromptFactory.create(
                benchmark=benchmark, category=category, subcategory=subcategory
            ),
            text=f"Answer {n}.",
        )
    return run


def screenshot(page: Page, name: str) -> None:
    """For a person checking the layout: DEMUR_SCREENSHOTS=DIR keeps pictures of the pages."""
    if os.environ.get("DEMUR_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["DEMUR_SCREENSHOTS"]) / name), full_page=True)


def create_campaign_with_pick_lists(page: Page, run: GenerationRun, people: list[str]) -> None:
    page.fill("input[name=name]", "Unsupported only")
    expect(page.get_by_text("Tick runs to choose among their categories.")).to_be_visible()
    page.check(f"input[name=runs][value='{run.pk}']")
    # htmx swaps in the run's own categories and subcategories.
    category = page.locator("input[name=categories][value='Unsupported requests']")
    expect(category).to_be_visible()
    category.check()
    subcategory = page.locator("input[name=subcategories][value='modality']")
    expect(subcategory).to_be_visible()  # the lists came back after the category changed
    expect(category).to_be_checked()
    subcategory.check()
    page.fill("input[name=overlap]", "2")
    for username in people:
        page.get_by_label(username, exact=True).check()
    screenshot(page, "campaign_picks.png")
    with page.expect_navigation():
        page.click("button.primary")


def test_the_custom_scheme_box_shows_only_with_the_custom_scheme(page_for: PageFor) -> None:
    session = page_for(UserFactory.create(role="researcher"))
    page = session.page
    page.goto(session.url("/campaigns/new/"))
    box = page.locator("textarea[name=custom_scheme]")
    expect(box).to_be_hidden()
    page.select_option("select[name=scheme]", "custom")
    expect(box).to_be_visible()
    page.select_option("select[name=scheme]", "xstest")
    expect(box).to_be_hidden()
    expect(page.locator("input[name=sample_size]")).to_be_hidden()  # sampling "all" needs none
    page.select_option("select[name=sampling]", "random")
    expect(page.locator("input[name=sample_size]")).to_be_visible()
    page.select_option("select[name=sampling]", "judge_disagreement")
    expect(page.get_by_text("Sampling judges")).to_be_visible()
    screenshot(page, "campaign_new.png")


def test_a_researcher_creates_a_campaign_from_pick_lists_and_settles_a_disagreement(
    page_for: PageFor,
) -> None:
    run = run_in_two_categories(8)
    people = annotators(2)
    session = page_for(UserFactory.create(role="researcher"))
    page = session.page
    page.goto(session.url("/campaigns/new/"))
    create_campaign_with_pick_lists(page, run, [person.username for person in people])

    campaign = Campaign.objects.get(name="Unsupported only")
    assert (campaign.categories, campaign.subcategories) == (["Unsupported requests"], ["modality"])
    assert page.url.endswith(f"/campaigns/{campaign.pk}/")
    expect(page.locator("dl.settings")).to_contain_text("Unsupported requests")
    # Both annotators label the four items; they disagree on every one.
    label_all(campaign, people[0], "complied")
    label_all(campaign, people[1], "not_complied")

    page.goto(session.url(f"/campaigns/{campaign.pk}/review/"))
    expect(page.get_by_text("4 unsettled disagreements")).to_be_visible()
    first = page.locator("article.review-item").first
    expect(first.locator(".labels-side")).to_contain_text("Did not comply")
    expect(first.locator("select[name=value]")).to_have_value("")  # nothing preselected
    first.locator("select[name=value]").select_option("neither")
    first.locator("input[name=reason]").fill("Off topic.")
    screenshot(page, "review.png")
    with page.expect_navigation():
        first.get_by_role("button", name="Set gold label").click()
    expect(page.get_by_text("3 unsettled disagreements")).to_be_visible()
    expect(page.locator("article.review-item")).to_have_count(3)
    assert GoldLabel.objects.filter(item__campaign=campaign, value="neither").count() == 1

    page.get_by_role("link", name="All disagreements, with the 1 settled").click()
    expect(page.locator("article.review-item")).to_have_count(4)
    expect(page.get_by_text("Gold: Neither")).to_be_visible()
    page.goto(session.url(f"/campaigns/{campaign.pk}/"))
    expect(page.get_by_text("3 items where annotators disagree, not settled yet")).to_be_visible()
