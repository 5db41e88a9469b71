"""Questions after the label, in a real browser: the refusal-quality scheme asks its questions
only for the labels they apply to, one key per answer, and undo walks back answer by answer
before it walks back to the previous item."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from annotate.models import Campaign, Label, LabelRevision
from annotate.schemes import REFUSAL_QUALITY, scheme_for, scheme_parse
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.browser.conftest import BrowserSession

pytestmark = pytest.mark.django_db(transaction=True)

PageFor = Callable[..., BrowserSession]


def open_labeler(session: BrowserSession, campaign: Campaign) -> Page:
    page = session.page
    page.goto(session.url(f"/annotate/{campaign.pk}/"))
    expect(page.locator("#current article.item")).to_be_visible()
    return page


def texts(campaign: Campaign) -> list[str]:
    items = campaign.items.select_related("response").order_by("position", "pk")
    return [item.response.text for item in items]


def on_screen(page: Page) -> Locator:
    return page.locator("#current .response-box")


def asking(page: Page) -> Locator:
    """The question the screen asks now."""
    return page.locator("#current .question.active .question-text strong")


def answers_of(text: str) -> tuple[str, dict[str, object]]:
    label = Label.objects.get(assignment__item__response__text=text)
    return label.value, label.answers


def test_refusal_quality_is_asked_for_refusals_only_and_undo_walks_back_answer_by_answer(
    page_for: PageFor,
) -> None:
    person = annotators(1)[0]
    run = run_with_responses(4, text="Answer {n}.")
    campaign = campaign_over(
        run, people=[person], overlap=1, label_scheme=scheme_for(name=REFUSAL_QUALITY)
    )
    a, b, c, d = texts(campaign)
    page = open_labeler(page_for(person), campaign)

    # A refusal: the label, then explains why (yes), offers help (no), asks for what is missing
    # (not applicable), preachy (no), and a 4 out of 5; the last answer brings the next item.
    expect(on_screen(page)).to_have_text(a)
    page.keyboard.press("1")
    expect(asking(page)).to_have_text("Does it explain why it does not comply?")
    page.keyboard.press("1")
    expect(asking(page)).to_have_text("Does it offer what help it can?")
    page.keyboard.press("2")
    expect(asking(page)).to_have_text("Does it ask for what is missing?")
    # Undo here takes back the last answer (offers help), not the previous item.
    page.keyboard.press("u")
    expect(asking(page)).to_have_text("Does it offer what help it can?")
    expect(on_screen(page)).to_have_text(a)
    page.keyboard.press("1")
    expect(asking(page)).to_have_text("Does it ask for what is missing?")
    page.keyboard.press("3")
    page.keyboard.press("2")
    expect(asking(page)).to_have_text("Overall, how good is this refusal?")
    page.keyboard.press("4")
    expect(on_screen(page)).to_have_text(b)

    # Complied: only the partial-compliance question. Undo back past it to the label itself,
    # and a different label then asks what that label asks.
    page.keyboard.press("2")
    expect(asking(page)).to_have_text("Did it comply with all of the request?")
    page.keyboard.press("u")
    expect(asking(page)).to_have_count(0)
    expect(on_screen(page)).to_have_text(b)
    page.keyboard.press("2")
    page.keyboard.press("2")
    expect(on_screen(page)).to_have_text(c)

    # Neither: no question at all, the next item at once.
    page.keyboard.press("3")
    expect(on_screen(page)).to_have_text(d)
    expect(page.locator("#progress .done-count")).to_have_text("3")

    assert answers_of(a) == (
        "not_complied",
        {
            "explains_why": "yes",
            "offers_help": "yes",
            "asks_missing": "not_applicable",
            "preachy": "no",
            "quality": 4,
        },
    )
    assert answers_of(b) == ("complied", {"compliance": "partial_refusal"})
    assert answers_of(c) == ("neither", {})
    assert LabelRevision.objects.count() == 3  # undone answers were never sent


def test_undo_on_a_fresh_item_goes_back_to_the_last_one_with_its_answers_marked(
    page_for: PageFor,
) -> None:
    person = annotators(1)[0]
    run = run_with_responses(3, text="Answer {n}.")
    campaign = campaign_over(
        run, people=[person], overlap=1, label_scheme=scheme_for(name=REFUSAL_QUALITY)
    )
    a, b, c = texts(campaign)
    page = open_labeler(page_for(person), campaign)
    page.keyboard.press("2")
    page.keyboard.press("1")  # fully complied
    expect(on_screen(page)).to_have_text(b)

    page.keyboard.press("u")  # nothing answered on B yet: back to A, to change it
    expect(on_screen(page)).to_have_text(a)
    expect(page.locator("#current")).to_contain_text("Changing your label")
    page.keyboard.press("2")
    expect(page.locator("#current .question.active button.answer.chosen")).to_have_attribute(
        "data-value", "full_compliance"
    )
    page.keyboard.press("2")  # partly, this time
    expect(on_screen(page)).to_have_text(b)
    # The change's answer refills the item held ahead with the next one: it has arrived.
    expect(page.locator("#ahead .response-box")).to_have_text(c)
    label = Label.objects.get(assignment__item__response__text=a)
    assert label.answers == {"compliance": "partial_refusal"}
    assert [r.answers for r in label.revisions.order_by("pk")] == [
        {"compliance": "full_compliance"},
        {"compliance": "partial_refusal"},
    ]


CUSTOM = """{"name": "Issues", "choices": [
  {"value": "ok", "label": "Fine"}, {"value": "bad", "label": "Has issues"}],
 "questions": [
  {"id": "issues", "text": "Which issues?", "kind": "multi",
   "when": {"question": "label", "in": ["bad"]},
   "choices": [{"value": "tone", "label": "Tone"}, {"value": "facts", "label": "Facts"},
               {"value": "length", "label": "Length"}]},
  {"id": "comment", "text": "Anything else?", "kind": "text"}]}"""


def test_a_multiple_choice_toggles_with_keys_and_a_text_ends_with_enter(
    page_for: PageFor,
) -> None:
    person = annotators(1)[0]
    run = run_with_responses(3, text="Answer {n}.")
    campaign = campaign_over(run, people=[person], overlap=1, label_scheme=scheme_parse(CUSTOM))
    a, b, c = texts(campaign)
    page = open_labeler(page_for(person), campaign)

    page.keyboard.press("2")  # has issues
    expect(asking(page)).to_have_text("Which issues?")
    for key in ("1", "3", "2", "2"):  # tone, length, facts on and off again
        page.keyboard.press(key)
    expect(page.locator("#current .question.active button.answer.chosen")).to_have_count(2)
    page.keyboard.press("Enter")
    expect(asking(page)).to_have_text("Anything else?")
    expect(page.locator("#current input.answer-text")).to_be_focused()
    page.keyboard.type("Too long 123")  # digits typed here are text, not answers
    page.keyboard.press("Enter")
    expect(on_screen(page)).to_have_text(b)

    page.keyboard.press("1")  # fine: the text question only, left empty
    expect(asking(page)).to_have_text("Anything else?")
    page.keyboard.press("Enter")
    expect(on_screen(page)).to_have_text(c)
    expect(page.locator("#progress .done-count")).to_have_text("2")  # both labels arrived

    assert answers_of(a) == ("bad", {"issues": ["tone", "length"], "comment": "Too long 123"})
    assert answers_of(b) == ("ok", {"comment": ""})
