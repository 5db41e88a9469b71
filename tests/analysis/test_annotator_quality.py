"""The annotators page: each annotator's accuracy on checks (against statsmodels' exact
interval), agreement with the others' majority (against scikit-learn), fast labels and pace
worked out by hand, their standing with the buttons that change it, and researchers only."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

from analysis.annotator_quality import (
    active_seconds,
    annotator_quality,
    running_accuracy,
)
from analysis.answers import majority
from annotate.models import (
    AnnotatorStanding,
    Assignment,
    AssignmentStatus,
    Campaign,
    CheckKind,
    Item,
    Label,
)
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CLASSES = ("complied", "not_complied", "neither")


def give(user: User, item: Item, value: str, *, at: datetime, seconds: float) -> None:
    """A label as the labeling screen stores one, completed at ``at`` after ``seconds`` on the
    item. Written directly, so that the test fixes when each label was given."""
    assignment = Assignment.objects.create(
        item=item,
        annotator=user,
        status=AssignmentStatus.DONE,
        expires_at=at,
        completed_at=at,
    )
    Label.objects.create(assignment=assignment, value=value, time_spent_ms=int(seconds * 1000))


def checks_of(campaign: Campaign, kind: str, answers: list[str]) -> list[Item]:
    """Check items with these answers, on the campaign's own responses (checks may reuse one)."""
    responses = [item.response for item in campaign.items.order_by("position")]
    first = 1000 + campaign.items.exclude(check_kind=CheckKind.NONE).count()
    return [
        Item.objects.create(
            campaign=campaign,
            response=responses[n % len(responses)],
            check_kind=kind,
            check_answer=answer,
            check_source="by hand",
            position=first + n,
        )
        for n, answer in enumerate(answers)
    ]


def wrong(answer: str) -> str:
    return CLASSES[(CLASSES.index(answer) + 1) % len(CLASSES)]


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def page_text(content: str) -> str:
    """What a person reads: no tags, single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content)).split())


def row_of(body: str, user: User) -> str:
    """The text of one annotator's row of the table."""
    found = re.search(rf'<tr id="annotator-{user.pk}">(.*?)</tr>', body, re.S)
    assert found, f"no row for {user.username}"
    return page_text(found.group(1))


def page(campaign: Campaign) -> str:
    answer = researcher().get(f"/analysis/campaigns/{campaign.pk}/annotators/")
    assert answer.status_code == 200
    return answer.content.decode()


# Every label of the three others on 30 items: where they agree, and where they split.
def others_labels() -> dict[str, list[str]]:
    bob = [CLASSES[n % 3] for n in range(30)]
    cat = [CLASSES[n % 3] if n % 5 else CLASSES[(n + 1) % 3] for n in range(30)]
    dan = [CLASSES[n % 3] if n % 4 else CLASSES[(n + 2) % 3] for n in range(30)]
    return {"bob": bob, "cat": cat, "dan": dan}


def ann_labels() -> list[str]:
    return [CLASSES[n % 3] if n % 3 else CLASSES[(n * 7 // 3) % 3] for n in range(30)]


@pytest.fixture
def labelled() -> tuple[Campaign, dict[str, User]]:
    """Four annotators on 30 items and a fifth named but idle. Ann labels the 30 items and
    answers 8 gold questions (6 right) and 2 attention checks (1 right), interleaved: 40 labels,
    the first 20 forty seconds apart, then a three-hour break, then 20 fifty seconds apart."""
    names = ["ann", "bob", "cat", "dan", "eve"]
    people = dict(zip(names, annotators(len(names)), strict=True))
    for name, user in people.items():
        User.objects.filter(pk=user.pk).update(username=name)
        user.username = name
    campaign = campaign_over(run_with_responses(30), people=list(people.values()), overlap=3)
    Campaign.objects.filter(pk=campaign.pk).update(min_seconds=5, pause_below=0.6, pause_after=8)
    campaign.refresh_from_db()
    items = list(campaign.items.order_by("position"))
    gold = checks_of(campaign, CheckKind.GOLD, ["complied", "not_complied"] * 4)
    attention = checks_of(campaign, CheckKind.ATTENTION, ["neither", "complied"])
    ann_checks = [
        (item, item.check_answer if n < 6 else wrong(item.check_answer))
        for n, item in enumerate(gold)
    ]
    ann_checks += [(attention[0], "neither"), (attention[1], "neither")]
    # Ann's work in order: three items, then a check, ten times over.
    work = []
    for n in range(10):
        work += [(items[3 * n + k], ann_labels()[3 * n + k]) for k in range(3)]
        work.append(ann_checks[n])
    at = START
    for index, (item, value) in enumerate(work):
        if index == 20:
            at += timedelta(hours=3)
        elif index:
            at += timedelta(seconds=40 if index < 20 else 50)
        give(people["ann"], item, value, at=at, seconds=ANN_SECONDS[index % len(ANN_SECONDS)])
    for name, values in others_labels().items():
        for n, (item, value) in enumerate(zip(items, values, strict=True)):
            give(people[name], item, value, at=START + timedelta(minutes=n), seconds=12)
    return campaign, people


# Seconds Ann spends on her labels, in turn: 3 of 8 under the campaign's 5 seconds.
ANN_SECONDS = [2, 9, 4, 30, 12, 4.999, 6, 5]


def test_accuracy_on_checks_and_its_exact_interval_are_statsmodels(labelled) -> None:
    campaign, people = labelled
    row = row_of(page(campaign), people["ann"])
    low, high = proportion_confint(7, 10, alpha=0.05, method="beta")
    assert f"70.0% [{low * 100:.1f}, {high * 100:.1f}]" in row
    assert "7 of 10 Gold question: 6 of 8 Attention check: 1 of 2" in row
    # Those who answered no check say so.
    assert "no checks answered" in row_of(page(campaign), people["bob"])


def test_agreement_is_scikit_learns_kappa_against_the_others_strict_majority(labelled) -> None:
    campaign, people = labelled
    others = others_labels()
    mine, theirs = [], []
    for n, label in enumerate(ann_labels()):
        (top, count), *_ = Counter(values[n] for values in others.values()).most_common()
        if count >= 2:  # two of the three others
            mine.append(label)
            theirs.append(top)
    assert 10 <= len(mine) < 30  # some items are left out, enough remain for a figure
    kappa = cohen_kappa_score(mine, theirs)
    row = row_of(page(campaign), people["ann"])
    assert f"{kappa:.2f} [" in row
    assert f"] {len(mine)} " in row  # n, the next column


def test_an_excluded_annotator_is_no_yardstick_for_the_others(labelled) -> None:
    campaign, people = labelled
    AnnotatorStanding.objects.create(
        campaign=campaign, annotator=people["dan"], excluded_at=START, excluded_by=None
    )
    bob, cat = others_labels()["bob"], others_labels()["cat"]
    # Bob and cat are the others now: an item counts where both agree (two of two).
    pairs = [(a, b) for a, b, c in zip(ann_labels(), bob, cat, strict=True) if b == c]
    kappa = cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs])
    body = page(campaign)
    assert f"{kappa:.2f} [" in row_of(body, people["ann"])
    assert f"] {len(pairs)} " in row_of(body, people["ann"])
    # Dan's own figure is still shown, against the three counted others (ann, bob, cat).
    assert "Labels excluded from figures since 2025-03-03 09:00" in row_of(body, people["dan"])
    assert "Count labels again" in row_of(body, people["dan"])


def test_fast_labels_median_time_and_labels_per_hour_by_hand(labelled) -> None:
    campaign, people = labelled
    row = row_of(page(campaign), people["ann"])
    # 40 labels cycle through ANN_SECONDS five times: 2, 4 and 4.999 are under 5 s.
    assert " 37.5% " in row
    # Sorted: 2, 4, 4.999, 5, 6, 9, 12, 30 (each five times): the median is (5 + 6) / 2.
    assert " 5.5 " in row
    # 19 gaps of 40 s, the break, 19 gaps of 50 s; the median gap (45 s) for each session's
    # first label: 760 + 950 + 2 * 45 = 1800 s, half an hour, for 40 labels.
    assert " 80.0 " in row
    assert row.startswith("ann 30 ")  # labels on regular items: the checks are not counted


def test_an_idle_annotator_has_a_row_of_dashes(labelled) -> None:
    campaign, people = labelled
    row = row_of(page(campaign), people["eve"])
    assert row.startswith("eve 0 0 of 0 no checks answered — no items 0 — —")


def test_standing_is_shown_with_the_buttons_that_change_it(labelled) -> None:
    campaign, people = labelled
    AnnotatorStanding.objects.create(
        campaign=campaign,
        annotator=people["ann"],
        paused_at=START + timedelta(hours=4),
        pause_reason="accuracy on checks 70% after 10 checks",
    )
    body = page(campaign)
    assert "Paused 2025-03-03 13:00: accuracy on checks 70% after 10 checks" in row_of(
        body, people["ann"]
    )
    here = f"/analysis/campaigns/{campaign.pk}/annotators/"
    standing = reverse("campaigns:standing", args=[campaign.pk, people["ann"].pk])
    forms = re.findall(
        rf'<form method="post" action="{re.escape(standing)}">(.*?)</form>', body, re.S
    )
    assert len(forms) == 2
    for form, action, button in zip(
        forms, ("resume", "exclude"), ("Let continue", "Exclude labels from figures"), strict=True
    ):
        assert 'name="csrfmiddlewaretoken"' in form
        assert f'name="action" value="{action}"' in form
        assert f'name="next" value="{here}"' in form
        assert f">{button}</button>" in form
    assert "Pause" in row_of(body, people["bob"]) and "Let continue" not in row_of(
        body, people["bob"]
    )


def form_with(body: str, user: User, button: str) -> tuple[str, dict[str, str]]:
    """Where the form with this button in the user's row posts, and its fields."""
    row = re.search(rf'<tr id="annotator-{user.pk}">(.*?)</tr>', body, re.S)
    assert row
    forms = re.findall(r'<form method="post" action="([^"]+)">(.*?)</form>', row.group(1), re.S)
    for action, form in forms:
        if f">{button}</button>" in form:
            return action, dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    raise AssertionError(f"no {button!r} button for {user.username}")


def test_the_buttons_pause_and_exclude_and_come_back_to_the_page(labelled) -> None:
    campaign, people = labelled
    client = researcher()
    here = f"/analysis/campaigns/{campaign.pk}/annotators/"
    for button in ("Pause", "Exclude labels from figures"):
        action, fields = form_with(client.get(here).content.decode(), people["bob"], button)
        answer = client.post(action, fields)
        assert answer.status_code == 302 and answer["Location"] == here
    body = client.get(here).content.decode()
    assert "Let continue" in row_of(body, people["bob"])
    assert "Count labels again" in row_of(body, people["bob"])
    standing = AnnotatorStanding.objects.get(campaign=campaign, annotator=people["bob"])
    assert standing.is_paused and standing.is_excluded


def test_the_rule_and_the_chart_of_accuracy_over_time(labelled) -> None:
    campaign, people = labelled
    first_check = Item.objects.get(campaign=campaign, position=1000)
    give(people["bob"], first_check, "neither", at=START, seconds=10)
    body = page(campaign)
    text = page_text(body)
    assert (
        "an annotator is paused (served nothing more) when their accuracy on checks falls below "
        "60% after 8 checks" in text
    )
    svg = body[body.index("<svg") :]
    assert 'id="accuracy-0"' in svg and 'id="accuracy-1"' in svg  # ann and bob
    assert 'id="pause-threshold"' in svg
    assert "paused below 60%" in html.unescape(svg)


def test_a_campaign_without_checks_says_so_and_shows_the_rest() -> None:
    people = annotators(2)
    campaign = campaign_over(run_with_responses(12), people=people, overlap=2)
    for n, item in enumerate(campaign.items.order_by("position")):
        for user in people:
            give(user, item, CLASSES[n % 3], at=START + timedelta(minutes=n), seconds=8)
    body = page(campaign)
    text = page_text(body)
    assert "No checks are set for this campaign" in text
    assert "Accuracy on checks" not in text and "<svg" not in body
    assert f'<a href="/campaigns/{campaign.pk}/checks/">add checks</a>' in body
    # Twelve items labelled alike by the only other annotator: kappa 1.
    assert "12 — 1.00 [1.00, 1.00] 12 8.0" in row_of(body, people[0])


def test_the_figures_take_the_same_few_queries_for_two_annotators_or_six() -> None:
    def queries(count: int) -> int:
        people = annotators(count)
        campaign = campaign_over(run_with_responses(6), people=people, overlap=count)
        items = list(campaign.items.order_by("position"))
        items += checks_of(campaign, CheckKind.GOLD, ["complied"])
        for user in people:
            for n, item in enumerate(items):
                give(user, item, "complied", at=START + timedelta(minutes=n), seconds=3)
            AnnotatorStanding.objects.create(campaign=campaign, annotator=user, excluded_at=START)
        with CaptureQueriesContext(connection) as captured:
            annotator_quality(campaign=campaign)
        return len(captured)

    assert queries(2) == queries(6) <= 6


def test_only_researchers_see_the_page() -> None:
    campaign = campaign_over(run_with_responses(2), people=annotators(1))
    url = f"/analysis/campaigns/{campaign.pk}/annotators/"
    client = Client()
    client.force_login(annotators(1)[0])
    assert client.get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page
    assert (
        researcher().get(f"/analysis/campaigns/{campaign.pk + 1000}/annotators/").status_code == 404
    )


def test_a_strict_majority_is_more_than_half() -> None:
    strict_majority = majority  # the others' label is analysis.answers' majority
    assert strict_majority(["a", "a", "b"]) == "a"
    assert strict_majority(["a", "b"]) is None
    assert strict_majority(["a"]) == "a"
    assert strict_majority([]) is None


def test_active_time_counts_breaks_as_nothing_and_a_lone_label_as_the_screens_time() -> None:
    at = [START, START + timedelta(minutes=10), START + timedelta(minutes=30)]
    # The first gap (exactly ten minutes) is work; the second (twenty) is a break, after which
    # the label counts the median of the working gaps: 600 + 600.
    assert active_seconds(at, [0, 0, 0]) == 600 + 2 * 600
    assert active_seconds([START], [42_000]) == 42
    assert active_seconds([START], [0]) is None
    assert active_seconds([], []) is None


def test_running_accuracy_follows_the_checks_in_time_order() -> None:
    minute = timedelta(minutes=1)
    series = running_accuracy([(START + minute, False), (START, True), (START + 2 * minute, True)])
    assert [share for _, share in series] == [1.0, 0.5, pytest.approx(2 / 3)]
