"""A campaign over every turn of scripted conversations, in a real browser (issue 16): keys only,
the earlier turns opened and closed with c, each turn labelled, and the next turn of the same
conversation served next."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from annotate.models import Campaign, Label, Turns
from inference.models import Response
from tests.annotate.builders import annotators, campaign_over, rubric_for
from tests.annotate.conversation_builders import run_with_conversations
from tests.browser.conftest import BrowserSession

pytestmark = pytest.mark.django_db(transaction=True)

PageFor = Callable[..., BrowserSession]
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def answer_on_screen(page: Page) -> Locator:
    return page.locator("#current .response-box.answer-to-label")


def earlier_turns(page: Page) -> Locator:
    return page.locator("#current .context .turn")


def full_texts(page: Page) -> Locator:
    return page.locator("#current .context .turn-full")


def conversations_in_serving_order(campaign: Campaign) -> list[list[Response]]:
    """Each conversation's answers in turn order, the conversations in the order their first
    turns are served."""
    items = campaign.items.select_related("response").order_by("position", "pk")
    by_conversation: dict[int | None, list[Response]] = {}
    for item in items:
        by_conversation.setdefault(item.conversation, []).append(item.response)
    return [sorted(turns, key=lambda r: r.turn) for turns in by_conversation.values()]


def test_an_annotator_labels_a_conversations_turns_in_order_with_keys_only(
    page_for: PageFor,
) -> None:
    person = annotators(1)[0]
    run = run_with_conversations(2, turns=3)
    rubric_for(run.benchmark)
    # The model's first answer in one conversation is hostile markup: it must stay text.
    for response in run.responses.filter(turn=1):
        response.text = f"First answer {HOSTILE}"
        response.save(update_fields=["text"])
    for response in run.responses.filter(turn__gt=1):
        response.messages[1]["content"] = f"First answer {HOSTILE}"
        response.save(update_fields=["messages"])
    campaign = campaign_over(run, people=[person], overlap=1, turns=Turns.EVERY)
    first, second = conversations_in_serving_order(campaign)
    assert [r.turn for r in first] == [1, 2, 3]

    session = page_for(person)
    page = session.page
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(session.url(f"/annotate/{campaign.pk}/"))

    # Turn 1: nothing before it; the answer to label is marked out.
    expect(answer_on_screen(page)).to_have_text(first[0].text)
    expect(page.locator("#current")).to_contain_text("turn 1 of 3")
    expect(earlier_turns(page)).to_have_count(0)
    page.keyboard.press("1")

    # Turn 2 of the same conversation comes next, its earlier turns one line each.
    expect(answer_on_screen(page)).to_have_text(first[1].text)
    expect(page.locator("#current")).to_contain_text("turn 2 of 3")
    expect(earlier_turns(page)).to_have_count(2)
    expect(full_texts(page).first).to_be_hidden()
    expect(page.locator("#current .context .turn-preview").first).to_be_visible()
    # c opens them in full, c again closes them.
    page.keyboard.press("c")
    expect(full_texts(page).nth(1)).to_be_visible()
    expect(full_texts(page).nth(1)).to_have_text(f"First answer {HOSTILE}")
    expect(page.locator("#current .context-toggle")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("c")
    expect(full_texts(page).nth(1)).to_be_hidden()
    page.keyboard.press("c")
    expect(full_texts(page).first).to_be_visible()
    page.keyboard.press("2")

    # Turn 3, closed again: four earlier turns (two of the user's, two answers).
    expect(answer_on_screen(page)).to_have_text(first[2].text)
    expect(earlier_turns(page)).to_have_count(4)
    expect(full_texts(page).first).to_be_hidden()
    expect(page.locator("#current .prompt-box")).to_have_text(first[2].messages[-1]["content"])
    page.keyboard.press("3")

    # Then the other conversation, from its first turn, turn by turn.
    for response, key in zip(second, "123", strict=True):
        expect(answer_on_screen(page)).to_have_text(response.text)
        page.keyboard.press(key)
    expect(page.locator("#current")).to_contain_text("Nothing left for you in this campaign.")
    expect(page.locator("#progress .done-count")).to_have_text("6")

    labels = Label.objects.filter(assignment__annotator=person).order_by("assignment__pk")
    assert list(labels.values_list("assignment__item__response_id", "value")) == [
        (response.pk, value)
        for response, value in zip(
            first + second,
            ["not_complied", "complied", "neither"] * 2,
            strict=True,
        )
    ]
    # The hostile answer was shown as text: no element made of it, no script run.
    assert page.locator("#labeler img").count() == 0
    assert dialogs == []
