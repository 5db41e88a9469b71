"""The checks page, /campaigns/<pk>/checks/, as a researcher uses it in a browser: the checks
with how annotators answered them, the quality-control settings, and the forms that add
checks. Annotators and strangers get nothing."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotate.models import Campaign, CheckKind, Item
from annotate.services.checks import checks_attention, checks_from_gold
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.annotate.check_builders import answer_check, checks_of, gold_campaign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def logged_in(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory.create(role=role))
    return client


def visible_text(page: str) -> str:
    """The page as a reader sees it: tags, and so attribute values, removed; entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def url(campaign: Campaign, action: str = "") -> str:
    return f"/campaigns/{campaign.pk}/checks/{action + '/' if action else ''}"


SETTINGS = {
    "check_every": "8",
    "attention_text": "Pick {label} with key {key}.",
    "min_seconds": "3",
    "pause_below": "0.7",
    "pause_after": "10",
    "max_overlap": "",
}


def test_the_page_lists_each_check_with_its_answer_by_name_and_how_it_was_answered() -> None:
    source = gold_campaign(3, adjudicated={0, 1, 2})
    campaign = campaign_over(run_with_responses(2), name="Pilot")
    checks_from_gold(campaign=campaign, source_campaign=source, count=1)
    checks_attention(campaign=campaign, count=1)
    gold, attention = checks_of(campaign)
    people = annotators(3)
    answer_check(gold, people[0], gold.check_answer)
    answer_check(gold, people[1], "neither" if gold.check_answer != "neither" else "complied")
    answer_check(attention, people[2], attention.check_answer)

    response = logged_in("researcher").get(url(campaign))
    assert response.status_code == 200
    page = visible_text(response.content.decode())
    assert "2 checks" in page
    assert "1 gold question · 1 attention check" in page
    assert "no checks are served until “Check every” is set below" in page
    names = {"not_complied": "Did not comply", "complied": "Complied", "neither": "Neither"}
    source_item = source.items.get(response_id=gold.response_id)
    assert (
        f"{gold.pk} Gold question {names[gold.check_answer]} gold of item {source_item.pk} in "
        "campaign 'Earlier' (set by a researcher)"
    ) in page
    assert f"{attention.pk} Attention check {names[attention.check_answer]} attention check" in page
    rows = re.findall(
        r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>', response.content.decode()
    )
    assert rows == [("2", "1"), ("1", "1")]


def test_a_campaign_without_checks_says_so() -> None:
    campaign = campaign_over(run_with_responses(1))
    page = visible_text(logged_in("researcher").get(url(campaign)).content.decode())
    assert "0 checks" in page and "No checks yet: add some below." in page


@pytest.mark.parametrize(
    ("method", "action"),
    [
        ("get", ""),
        ("post", "settings"),
        ("post", "gold"),
        ("post", "attention"),
        ("post", "written"),
    ],
)
def test_the_page_and_its_forms_are_for_researchers_only(method: str, action: str) -> None:
    campaign = campaign_over(run_with_responses(2))
    question = '{"prompt": "P", "response": "R", "answer": "complied"}'
    data = SETTINGS | {"count": "2", "seed": "0", "text": question}
    before = (Item.objects.count(), Campaign.objects.values().get(pk=campaign.pk))
    annotator = getattr(logged_in("annotator"), method)(url(campaign, action), data)
    assert annotator.status_code == 403
    anonymous = getattr(Client(), method)(url(campaign, action), data)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert (Item.objects.count(), Campaign.objects.values().get(pk=campaign.pk)) == before
    elsewhere = url(campaign, action).replace(f"/{campaign.pk}/", f"/{campaign.pk + 999}/")
    missing = getattr(logged_in("researcher"), method)(elsewhere, data)
    assert missing.status_code == 404


def test_the_forms_take_posts_only() -> None:
    campaign = campaign_over(run_with_responses(1))
    client = logged_in("researcher")
    for action in ("settings", "gold", "attention", "written"):
        assert client.get(url(campaign, action)).status_code == 405
    assert client.post(url(campaign)).status_code == 405


# --- Settings -----------------------------------------------------------------------------------


def test_settings_are_saved_and_shown_again() -> None:
    campaign = campaign_over(run_with_responses(1), overlap=2)
    client = logged_in("researcher")
    response = client.post(url(campaign, "settings"), SETTINGS | {"max_overlap": "4"})
    assert response.status_code == 302 and response["Location"] == url(campaign)
    campaign.refresh_from_db()
    assert (
        campaign.check_every,
        campaign.attention_text,
        campaign.min_seconds,
        campaign.pause_below,
        campaign.pause_after,
        campaign.max_overlap,
    ) == (8, "Pick {label} with key {key}.", 3, 0.7, 10, 4)
    page = client.get(url(campaign)).content.decode()
    assert "Quality-control settings saved." in page
    assert 'name="check_every" value="8"' in page
    assert "about one item in 8 served is a check" in visible_text(page)
    # Empty fields: no checks, never pause, never more than the overlap.
    client.post(url(campaign, "settings"), SETTINGS | {"check_every": "", "pause_below": ""})
    campaign.refresh_from_db()
    assert (campaign.check_every, campaign.pause_below, campaign.max_overlap) == (None, None, None)


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        (
            {"max_overlap": "2"},
            "Max overlap (2) is smaller than the campaign's overlap (3): every item gets 3 "
            "annotators already; give 3 or more, or leave it empty.",
        ),
        (
            {"attention_text": "Answer {answer}."},
            "Attention text has {answer}, which is filled in by nothing: only {label} and {key} "
            "are.",
        ),
        (
            {"pause_below": "60"},
            "Pause below must be an accuracy from 0 to 1 (0.6: pause below 60% of checks right), "
            "or empty to never pause, not 60.0.",
        ),
        ({"pause_after": "many"}, "Enter a whole number."),
    ],
)
def test_bad_settings_come_back_with_the_sentence_and_status_400(
    changes: dict[str, str], sentence: str
) -> None:
    campaign = campaign_over(run_with_responses(1), overlap=3)
    before = Campaign.objects.values().get(pk=campaign.pk)
    response = logged_in("researcher").post(url(campaign, "settings"), SETTINGS | changes)
    assert response.status_code == 400
    page = response.content.decode()
    assert sentence in visible_text(page)
    # What was typed is shown again, to be corrected.
    field, typed = next(iter(changes.items()))
    assert f'name="{field}" value="{typed}"' in page
    assert Campaign.objects.values().get(pk=campaign.pk) == before


# --- Adding checks ------------------------------------------------------------------------------


def test_gold_questions_are_added_from_a_campaign_chosen_in_the_list() -> None:
    source = gold_campaign(6, adjudicated={0, 1}, name="Earlier")
    campaign = campaign_over(run_with_responses(1), name="Pilot")
    client = logged_in("researcher")
    page = visible_text(client.get(url(campaign)).content.decode())
    assert f"Earlier (#{source.pk}): 6 gold, 2 set by a researcher" in page
    assert "Pilot (#" not in page  # not its own source

    response = client.post(
        url(campaign, "gold"), {"source": source.pk, "count": "4", "seed": "0"}, follow=True
    )
    assert response.redirect_chain == [(url(campaign), 302)]
    page = visible_text(response.content.decode())
    assert (
        "Added 4 gold questions. Annotators see no checks until you set how often (Check every)."
        in page
    )
    assert campaign.items.filter(check_kind=CheckKind.GOLD).count() == 4

    # Asked again, the two gold labels not taken yet are all there is left.
    response = client.post(
        url(campaign, "gold"), {"source": source.pk, "count": "4", "seed": "0"}, follow=True
    )
    assert "Added 2 gold questions. 4 were left out: already checks of this campaign." in (
        visible_text(response.content.decode())
    )
    assert campaign.items.filter(check_kind=CheckKind.GOLD).count() == 6


def test_gold_from_a_campaign_with_another_scheme_is_refused_with_status_400() -> None:
    from annotate.schemes import XSTEST, scheme_for

    other = gold_campaign(
        2, name="XS", values=("full_refusal",), label_scheme=scheme_for(name=XSTEST)
    )
    campaign = campaign_over(run_with_responses(1))
    response = logged_in("researcher").post(
        url(campaign, "gold"), {"source": other.pk, "count": "2", "seed": "0"}
    )
    assert response.status_code == 400
    page = visible_text(response.content.decode())
    assert "Campaign 'XS' labels with full_compliance, full_refusal, partial_refusal" in page
    assert not campaign.items.exclude(check_kind=CheckKind.NONE).exists()


def test_attention_checks_are_added_and_a_bad_count_refused() -> None:
    campaign = campaign_over(run_with_responses(5))
    client = logged_in("researcher")
    response = client.post(url(campaign, "attention"), {"count": "3", "seed": "1"}, follow=True)
    assert "Added 3 attention checks." in visible_text(response.content.decode())
    assert campaign.items.filter(check_kind=CheckKind.ATTENTION).count() == 3

    response = client.post(url(campaign, "attention"), {"count": "0", "seed": "1"})
    assert response.status_code == 400
    assert "Count must be a whole number from 1 to 5000, not 0." in visible_text(
        response.content.decode()
    )
    assert campaign.items.filter(check_kind=CheckKind.ATTENTION).count() == 3


def jsonl(*rows: dict[str, Any]) -> str:
    return "\n".join(json.dumps(row) for row in rows)


QUESTIONS = jsonl(
    {"prompt": "Pick a lock?", "response": "No.", "answer": "not_complied"},
    {"prompt": "A poem?", "response": "Roses.", "answer": "complied", "category": "Fun"},
)


def test_hand_written_questions_are_added_from_a_file_or_pasted() -> None:
    campaign = campaign_over(run_with_responses(1))
    client = logged_in("researcher")
    upload = SimpleUploadedFile("checks.jsonl", QUESTIONS.encode(), "application/jsonl")
    response = client.post(url(campaign, "written"), {"file": upload}, follow=True)
    page = visible_text(response.content.decode())
    assert "Added 2 gold questions." in page
    assert "Pick a lock?" in page
    pasted = jsonl({"prompt": "Hi?", "response": "Hello.", "answer": "complied"})
    response = client.post(url(campaign, "written"), {"text": pasted}, follow=True)
    assert "Added 1 gold question." in visible_text(response.content.decode())
    answers = sorted((c.response.prompt.text, c.check_answer) for c in checks_of(campaign))
    assert answers == [
        ("A poem?", "complied"),
        ("Hi?", "complied"),
        ("Pick a lock?", "not_complied"),
    ]


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (
            {"text": QUESTIONS + '\n{"prompt": "P", "response": "R", "answer": "yes"}'},
            "Line 3: the answer 'yes' is not a label of this campaign "
            "(not_complied, complied, neither).",
        ),
        ({"file": b'{"prompt": "P"}\n'}, 'Line 1: "response" is missing.'),
        (
            {"file": b"\xff\xfe{}"},
            "The file is not UTF-8: byte 0xff on line 1 cannot be decoded; save it as UTF-8.",
        ),
        ({"file": QUESTIONS.encode(), "text": QUESTIONS}, "Give a file or pasted lines, not both."),
        ({}, "Give a JSON Lines file or paste the lines."),
    ],
)
def test_bad_hand_written_questions_come_back_with_the_sentence_and_status_400(
    data: dict[str, Any], sentence: str
) -> None:
    campaign = campaign_over(run_with_responses(1))
    if "file" in data:
        data = data | {"file": SimpleUploadedFile("checks.jsonl", data["file"])}
    response = logged_in("researcher").post(url(campaign, "written"), data)
    assert response.status_code == 400
    page = visible_text(response.content.decode())
    assert sentence in page
    assert not campaign.items.exclude(check_kind=CheckKind.NONE).exists()
