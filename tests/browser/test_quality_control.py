"""Quality control in a real browser: an annotator who answers gold questions wrongly is paused
with a message; the researcher sees it on the campaign page and leaves their labels out of the
figures with one click; the agreement report switches gold policy and shows Gwet's AC1 and
PABAK beside Cohen's kappa.

Each step waits on what the page shows, never on a timer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from annotate.models import AnnotatorStanding, Campaign, CheckKind, Item
from judging.models import Judge
from tests.analysis.test_report_pages import judge_all
from tests.annotate.builders import annotators, campaign_over, label_all, run_with_responses
from tests.browser.conftest import BrowserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PageFor = Callable[..., BrowserSession]


def campaign_with_gold_questions() -> tuple[Campaign, list[User]]:
    """Twenty responses the keyword judge has read, two careful annotators and a careless one
    who has labelled a few items already; then five gold questions (answer: did not comply),
    served first, and a rule that pauses below 60% right after three of them."""
    run = run_with_responses(20)
    careful_one, careful_two, careless = annotators(3)
    campaign = campaign_over(run, people=[careful_one, careful_two, careless], overlap=3)
    for person in (careful_one, careful_two):
        label_all(campaign, person, "not_complied")
    label_all(campaign, careless, "complied", limit=12)
    # A transactional test empties the tables afterwards, the keyword judge its migration made too.
    keyword, _ = Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})
    judge_all(run, keyword, ["not_complied"] * 18 + ["complied"] * 2)
    checks = run_with_responses(5, text="Gold question {n}.")
    Item.objects.bulk_create(
        Item(
            campaign=campaign,
            response=response,
            check_kind=CheckKind.GOLD,
            check_answer="not_complied",
            check_source="written by hand",
            slots_left=0,
        )
        for response in checks.responses.all()
    )
    Campaign.objects.filter(pk=campaign.pk).update(check_every=1, pause_below=0.6, pause_after=3)
    return campaign, [careful_one, careful_two, careless]


def test_a_careless_annotator_is_paused_and_a_researcher_leaves_their_labels_out(
    page_for: PageFor,
) -> None:
    campaign, (_, _, careless) = campaign_with_gold_questions()
    session = page_for(careless)
    page = session.page
    page.goto(session.url(f"/annotate/{campaign.pk}/"))
    # Three gold questions answered "Complied" (key 2), each wrong: the third pauses them.
    for _ in range(3):
        item = page.locator("#current article.item")
        expect(item).to_contain_text("Gold question")
        shown = item.get_attribute("data-assignment")
        page.keyboard.press("2")
        expect(page.locator(f'#current article[data-assignment="{shown}"]')).to_have_count(0)
    paused = page.locator("#current .paused-note")
    expect(paused).to_contain_text("You are paused on this campaign")
    expect(paused).to_contain_text("0 of 3 checks answered right")
    assert AnnotatorStanding.objects.get(annotator=careless).is_paused

    researcher = page_for(UserFactory(role="researcher"))
    desk = researcher.page
    desk.goto(researcher.url(f"/analysis/campaigns/{campaign.pk}/"))
    people = desk.locator("section", has_text="People against each other")
    expect(people).to_contain_text("A3")  # the careless annotator's labels count, so far

    desk.goto(researcher.url(f"/campaigns/{campaign.pk}/"))
    warning = desk.locator(".paused-annotator")
    expect(warning).to_contain_text(f"{careless.username} is paused")
    expect(warning).to_contain_text("0 of 3 checks answered right")
    row = desk.locator(f'tr[data-annotator="{careless.username}"]')
    expect(row).to_contain_text("0 of 3")
    warning.get_by_role("button", name=f"Exclude {careless.username}'s labels from figures").click()
    expect(desk.locator(".message.success")).to_contain_text(
        f"{careless.username}'s labels are left out of every figure"
    )
    expect(desk.locator(f'tr[data-annotator="{careless.username}"]')).to_contain_text(
        "labels excluded"
    )

    desk.goto(researcher.url(f"/analysis/campaigns/{campaign.pk}/"))
    expect(desk.locator("section", has_text="People against each other")).not_to_contain_text("A3")
    judges = desk.locator("table.grid").first
    for heading in ("Cohen's kappa", "Gwet's AC1", "PABAK"):
        expect(judges.locator("thead")).to_contain_text(heading)
    expect(desk.locator(".gold-policy")).to_contain_text("uses Agreed or adjudicated gold")
    desk.locator(".gold-policy").get_by_role("link", name="Dawid-Skene").click()
    expect(desk.locator(".gold-policy")).to_contain_text("uses Dawid-Skene gold")
    expect(desk).to_have_url(re.compile(r"\?gold=dawid_skene$"))
    expect(desk.locator("table.policies")).to_contain_text("keyword")
