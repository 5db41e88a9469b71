"""A pairwise campaign in a real browser: two responses side by side, labelled with keys only,
a reason typed after the label, and undo back one answer and back one pair."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from annotate.models import Campaign, Item, Label
from annotate.schemes import BOTH_BAD, LEFT_BETTER, RIGHT_BETTER, TIE
from inference.models import Response
from tests.annotate.builders import annotators, pairwise_over, runs_on_the_same_prompts
from tests.browser.conftest import BrowserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PageFor = Callable[..., BrowserSession]


def side(page: Page, which: str) -> Locator:
    return page.locator(f"#current .response-{which}")


def asking(page: Page) -> Locator:
    return page.locator("#current .question.active .question-text strong")


def reason_box(page: Page) -> Locator:
    return page.locator("#current .question.active input.answer-text")


def pairs_in_order(campaign: Campaign) -> list[Item]:
    items = campaign.items.select_related("response", "response_b").order_by("position", "pk")
    return list(items)


def label_of(item: Item) -> tuple[str, dict[str, object]]:
    label = Label.objects.get(assignment__item=item)
    return label.value, label.answers


def test_an_annotator_labels_pairs_with_keys_a_reason_and_undo(page_for: PageFor) -> None:
    person = annotators(1)[0]
    runs = runs_on_the_same_prompts(3, models=("secret-alpha", "secret-beta"))
    # Texts that do not name the models: the screen must not give them away.
    for response in Response.objects.filter(run__in=runs).select_related("run"):
        manner = "Kind" if response.run_id == runs[0].pk else "Curt"
        response.text = f"{manner} reply to prompt {response.prompt_id}."
        response.save(update_fields=["text"])
    campaign = pairwise_over(runs, people=[person])
    first, second, third = pairs_in_order(campaign)
    session = page_for(person)
    page = session.page
    page.goto(session.url(f"/annotate/{campaign.pk}/"))

    # The first pair, in the order drawn for it, under Left and Right; no model named.
    expect(side(page, "left")).to_have_text(first.left.text)
    expect(side(page, "right")).to_have_text(first.right.text)  # type: ignore[union-attr]
    expect(page.locator("#current .side h2")).to_have_text(["Left", "Right"])
    assert "secret-" not in page.content()

    # "Left is better", then the reason question; Escape leaves the box and u takes the label
    # back, so the next key labels again.
    page.keyboard.press("1")
    expect(asking(page)).to_have_text("Why? (optional)")
    expect(reason_box(page)).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("u")
    expect(asking(page)).to_have_count(0)
    expect(side(page, "left")).to_have_text(first.left.text)
    page.keyboard.press("2")  # right is better after all
    expect(reason_box(page)).to_be_focused()
    page.keyboard.type("Explains why, and 2 alternatives")  # digits typed here are text
    page.keyboard.press("Enter")

    # The second pair: a tie, no reason given.
    expect(side(page, "left")).to_have_text(second.left.text)
    page.keyboard.press("3")
    page.keyboard.press("Enter")

    # On the third pair, undo goes back to the second to change it: both bad, with a reason.
    expect(side(page, "left")).to_have_text(third.left.text)
    page.keyboard.press("u")
    expect(side(page, "left")).to_have_text(second.left.text)
    expect(page.locator("#current")).to_contain_text("Changing your label")
    page.keyboard.press("4")
    page.keyboard.type("Both guess")
    page.keyboard.press("Enter")

    expect(side(page, "left")).to_have_text(third.left.text)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#current")).to_contain_text("Nothing left for you in this campaign.")
    expect(page.locator("#progress .done-count")).to_have_text("3")

    assert label_of(first) == (RIGHT_BETTER, {"reason": "Explains why, and 2 alternatives"})
    assert label_of(second) == (BOTH_BAD, {"reason": "Both guess"})
    assert label_of(third) == (LEFT_BETTER, {"reason": ""})
    revisions = Label.objects.get(assignment__item=second).revisions.order_by("pk")
    assert [(r.value, r.answers) for r in revisions] == [
        (TIE, {"reason": ""}),
        (BOTH_BAD, {"reason": "Both guess"}),
    ]

    # The report translates what was seen into which model won: alpha won the pairs where the
    # side chosen showed its response.
    alpha = runs[0].pk
    alpha_wins = int(first.right.run_id == alpha) + int(third.left.run_id == alpha)  # type: ignore[union-attr]
    researcher = page_for(UserFactory.create(role="researcher"))
    report = researcher.page
    report.goto(researcher.url(f"/analysis/campaigns/{campaign.pk}/pairwise/"))
    expect(report.locator("h3")).to_have_text(
        f"secret-alpha (run {runs[0].pk}) against secret-beta (run {runs[1].pk})"
    )
    too_few = "too few items (n=3; 10 needed)"
    expect(report.locator("tr.overall td")).to_have_text(
        ["3", str(alpha_wins), str(2 - alpha_wins), "0", "1", too_few, too_few]
    )
    expect(report.locator("#position-bias")).to_contain_text(
        "Left won 1 and right 1 of the gold decisions: too few decisions (n=2; 10 needed)."
    )
