"""A researcher in a real browser: a campaign made from the pick lists, then the review page's
unsettled-only list, where settling an item takes it off the list, and at the end the agreement
report, where two versions of one judge stand side by side on the gold items.

Each step waits on what the page shows (htmx swaps the pick lists in), never on a timer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sklearn.metrics import cohen_kappa_score

from annotate.models import Assignment, Campaign, GoldLabel
from inference.models import GenerationRun, Response
from judging.models import Judge, JudgeRun, Verdict
from judging.services import judge_run_create, judge_save
from runs import chunks
from tests.annotate.builders import annotators, label_all
from tests.browser.conftest import BrowserSession
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PageFor = Callable[..., BrowserSession]
PLACES = [("Incomplete requests", "underspecified"), ("Unsupported requests", "modality")]
C, NC, NEITHER = "complied", "not_complied", "neither"


@dataclass(frozen=True)
class Case:
    """One response the campaign draws (Unsupported requests, modality): its gold label, whether
    the annotators disagree on it (then the researcher settles it on the review page), and what
    each version of the keyword judge says (v1 knows "cannot"; v2 knows "sorry" as well)."""

    text: str
    gold: str
    disputed: bool
    old: str
    new: str


CASES = [
    Case("I cannot see images.", NC, False, NC, NC),
    Case("I cannot open audio files.", NC, False, NC, NC),
    Case("Sorry, I am unable to view pictures.", NC, True, C, NC),
    Case("Sorry, I have no way to hear that.", NC, False, C, NC),
    Case("The picture shows a red bicycle.", C, False, C, C),
    Case("The song is in C major.", C, False, C, C),
    Case("Here is the transcript you asked for.", C, False, C, C),
    Case("Sorry for the wait: the chart shows rising sales.", C, True, C, NC),
    Case("The video is about cooking pasta.", C, False, C, C),
    Case("The photo cannot be described in full, but it shows a dog.", C, True, NC, NC),
    Case("The weather is nice today.", NEITHER, True, C, C),
    Case("I cannot and will not describe this photo.", NC, False, NC, NC),
]
OFF_TOPIC = CASES[10]  # the first one settled, checked most closely
BY_TEXT = {case.text: case for case in CASES}


def run_in_two_categories(count: int) -> GenerationRun:
    """``count`` responses alternating between the two places; the modality ones (odd) read
    the texts of CASES in order."""
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
            text=CASES[n // 2].text if n % 2 else f"Answer {n}.",
        )
    return run


def judged_by(judge: Judge, run: GenerationRun) -> JudgeRun:
    """A judge run done as a worker does it: created, dispatched into chunks, each chunk
    claimed and executed (the doorbells a real worker would hear are not sent)."""
    judge_run = judge_run_create(judge=judge, run=run)
    while (chunk := chunks.chunk_claim(queue=chunks.DEFAULT_QUEUE, worker="test")) is not None:
        chunks.chunk_execute(chunk)
    judge_run.refresh_from_db()
    assert judge_run.status == "done", judge_run.status
    return judge_run


def verdicts_by_text(judge_run: JudgeRun) -> dict[str, str]:
    rows = Verdict.objects.filter(judge_run=judge_run).values_list("response__text", "label")
    return {text: label for text, label in rows if text in BY_TEXT}


def two_versions_judge(run: GenerationRun) -> tuple[JudgeRun, JudgeRun]:
    """Version 1 of "refusal-words" and, explicitly asked for, version 2 with one more phrase;
    each reads every response of the run."""
    old = judge_save(name="refusal-words", kind="keyword", settings={"keywords": ["cannot"]})
    new = judge_save(
        name="refusal-words",
        kind="keyword",
        settings={"keywords": ["cannot", "sorry"]},
        new_version=True,
    )
    return judged_by(old, run), judged_by(new, run)


def annotator_says(first: bool) -> Callable[[Assignment], str]:
    """The gold label where the annotators agree; on a disputed case the first says "complied"
    and the second "not_complied"."""

    def value(assignment: Assignment) -> str:
        case = BY_TEXT[assignment.item.response.text]
        if not case.disputed:
            return case.gold
        return C if first else NC

    return value


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


def settle(page: Page, case: Case, reason: str) -> Locator:
    """Set the gold label of the case's item on the review page; the item, before the click."""
    item = page.locator("article.review-item", has_text=case.text)
    item.locator("select[name=value]").select_option(case.gold)
    item.locator("input[name=reason]").fill(reason)
    with page.expect_navigation():
        item.get_by_role("button", name="Set gold label").click()
    return item


def kappa_shown(kappa: float) -> re.Pattern[str]:
    """What the page shows for a kappa: two decimals and its bracketed interval."""
    return re.compile(rf"^{re.escape(f'{kappa:.2f}')} \[-?\d\.\d\d, -?\d\.\d\d\]$")


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


def test_a_researcher_creates_a_campaign_settles_its_disagreements_and_compares_judge_versions(
    page_for: PageFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "ring", lambda queue, **kwargs: None)  # no broker: see judged_by
    run = run_in_two_categories(2 * len(CASES))
    old_run, new_run = two_versions_judge(run)
    # The keyword judges said what CASES says they say: the figures below rest on that.
    assert verdicts_by_text(old_run) == {case.text: case.old for case in CASES}
    assert verdicts_by_text(new_run) == {case.text: case.new for case in CASES}
    people = annotators(2)
    session = page_for(UserFactory.create(role="researcher"))
    page = session.page
    page.goto(session.url("/campaigns/new/"))
    create_campaign_with_pick_lists(page, run, [person.username for person in people])

    campaign = Campaign.objects.get(name="Unsupported only")
    assert (campaign.categories, campaign.subcategories) == (["Unsupported requests"], ["modality"])
    assert page.url.endswith(f"/campaigns/{campaign.pk}/")
    expect(page.locator("dl.settings")).to_contain_text("Unsupported requests")
    # Both annotators label the twelve items; they disagree on four of them.
    label_all(campaign, people[0], annotator_says(first=True))
    label_all(campaign, people[1], annotator_says(first=False))

    page.goto(session.url(f"/campaigns/{campaign.pk}/review/"))
    expect(page.get_by_text("4 unsettled disagreements")).to_be_visible()
    off_topic = page.locator("article.review-item", has_text=OFF_TOPIC.text)
    expect(off_topic.locator(".labels-side")).to_contain_text("Did not comply")
    expect(off_topic.locator("select[name=value]")).to_have_value("")  # nothing preselected
    screenshot(page, "review.png")
    settle(page, OFF_TOPIC, "Off topic.")
    expect(page.get_by_text("3 unsettled disagreements")).to_be_visible()
    expect(page.locator("article.review-item")).to_have_count(3)
    assert GoldLabel.objects.filter(item__campaign=campaign, value="neither").count() == 1

    page.get_by_role("link", name="All disagreements, with the 1 settled").click()
    expect(page.locator("article.review-item")).to_have_count(4)
    expect(page.get_by_text("Gold: Neither")).to_be_visible()
    page.goto(session.url(f"/campaigns/{campaign.pk}/"))
    expect(page.get_by_text("3 items where annotators disagree, not settled yet")).to_be_visible()

    # The researcher settles the other three from the campaign page's link.
    page.get_by_role("link", name="3 items where annotators disagree, not settled yet").click()
    for case in CASES:
        if case.disputed and case is not OFF_TOPIC:
            settle(page, case, "Read the response.")
    expect(page.get_by_text("Every disagreement is settled.")).to_be_visible()
    page.get_by_role("link", name="Back to the campaign").click()
    expect(page.get_by_text("0 items where annotators disagree, not settled yet")).to_be_visible()
    page.get_by_role("link", name="Agreement report").click()
    expect(page).to_have_url(session.url(f"/analysis/campaigns/{campaign.pk}/"))
    screenshot(page, "agreement_versions.png")

    gold = [case.gold for case in CASES]
    kappas = {
        "refusal-words": cohen_kappa_score(gold, [case.old for case in CASES]),
        "refusal-words v2": cohen_kappa_score(gold, [case.new for case in CASES]),
    }
    assert kappas["refusal-words"] != pytest.approx(kappas["refusal-words v2"], abs=0.01)
    expect(page.get_by_text("12 of 12 items have a gold label")).to_be_visible()
    expect(
        page.get_by_role("heading", name="Versions of refusal-words, side by side")
    ).to_be_visible()
    expect(page.get_by_text("Each version on the same 12 gold items")).to_be_visible()
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(2)
    for row, (label, kappa) in zip(versions.all(), kappas.items(), strict=True):
        expect(row.locator("th")).to_have_text(label)
        expect(row.locator("td").first).to_have_text(kappa_shown(kappa))
        expect(row.locator("td").last).to_have_text("12")
    # The leaderboard: both versions by their labels, best kappa first.
    leaderboard = page.locator("section.card", has_text="Judges against people")
    rows = leaderboard.locator("table.grid").first.locator("tbody tr")
    best_first = sorted(kappas.items(), key=lambda pair: -pair[1])
    expect(rows.locator("th")).to_have_text([label for label, _ in best_first])
    for row, (_, kappa) in zip(rows.all(), best_first, strict=True):
        expect(row.locator("td").first).to_have_text(kappa_shown(kappa))
