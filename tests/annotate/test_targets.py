"""A campaign with a target (issue 15): categories close one by one once the target judge's
corrected compliance rate is known within ±target (annotate/stopping.py's anytime-valid
interval), serving stops handing out their items, the campaign page shows it live, and the
form and the API check the target's settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.timezone import localtime
from rest_framework.test import APIClient

from analysis.metrics import judge_corrected_rate
from annotate.models import (
    Assignment,
    Campaign,
    CheckKind,
    GoldLabel,
    GoldSource,
    Item,
    TargetMet,
)
from annotate.schemes import XSTEST, scheme_for
from annotate.services.errors import CampaignError
from annotate.services.gold import gold_set
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next
from annotate.stopping import JudgeShare, Rectifier, anytime_interval, target_met
from annotate.targets import OVERALL, target_panel
from benchmarks.models import Benchmark
from inference.models import GenerationRun, Response
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import (
    annotators,
    campaign_over,
    label_next,
    pairwise_over,
    runs_on_the_same_prompts,
)
from tests.annotate.test_label_pages import label_post_statements
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db

NOT, YES = "not_complied", "complied"


def judged_run(
    sizes: dict[str, int], says: Callable[[int], str] = lambda n: NOT
) -> tuple[GenerationRun, Judge]:
    """A run with ``sizes[category]`` responses per category and a judge that says ``says(n)``
    of the n-th response of each category."""
    benchmark: Benchmark = BenchmarkFactory.create()
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="m", status="done", total=sum(sizes.values())
    )
    judge = Judge.objects.create(name=f"target-judge-{run.pk}", kind="keyword")
    judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done")
    for category, count in sizes.items():
        for n in range(count):
            prompt = PromptFactory.create(benchmark=benchmark, category=category)
            response = Response.objects.create(run=run, prompt=prompt, text=f"Answer {n}.")
            Verdict.objects.create(judge_run=judge_run, response=response, label=says(n))
    return run, judge


def labels_to_meet(*, judged: int, complied: int, planned: int, target: float) -> int:
    """When the interval first reaches the target if every gold label agrees with a judge that
    says "not complied" throughout: the label count the campaign must stop at."""
    rectifier = Rectifier()
    for labels in range(1, planned + 1):
        rectifier = rectifier.add(judge_complied=False, gold_complied=False)
        interval = anytime_interval(JudgeShare(judged, complied), rectifier, planned=planned)
        if target_met(interval, target):
            return labels
    raise AssertionError("never met")


def as_the_judge_says(assignment: Assignment) -> str:
    return Verdict.objects.get(response_id=assignment.item.response_id).label


def category_of(item_id: int) -> str:
    return Item.objects.get(pk=item_id).response.prompt.category


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- stopping ---------------------------------------------------------------------------------


def test_categories_close_one_by_one_and_their_items_are_served_no_more() -> None:
    run, judge = judged_run({"Alpha": 30, "Beta": 30})
    person = annotators(1)[0]
    campaign = campaign_over(
        run, people=[person], overlap=1, target_half_width=0.3, target_judge=judge
    )
    stop_at = labels_to_meet(judged=30, complied=0, planned=30, target=0.3)
    labelled = {"Alpha": 0, "Beta": 0}
    while (assignment := label_next(campaign, person, NOT)) is not None:
        category = category_of(assignment.item_id)
        met_before = set(
            TargetMet.objects.filter(campaign=campaign).values_list("category", flat=True)
        )
        labelled[category] += 1
        # An item is served only while its category is open.
        assert category not in met_before or labelled[category] == stop_at
    assert labelled == {"Alpha": stop_at, "Beta": stop_at}
    met = {row.category: row for row in TargetMet.objects.filter(campaign=campaign)}
    assert set(met) == {"Alpha", "Beta"}
    assert met["Alpha"].labels == met["Beta"].labels == stop_at
    assert met["Alpha"].half_width <= 0.3 and met["Alpha"].estimate == 0.0
    # The rest of each category stays unlabelled: 30 - stop_at items in each.
    assert campaign.items.filter(assignments__isnull=True).count() == 60 - 2 * stop_at


def test_a_three_point_target_closes_a_coconot_sized_category_before_all_is_labelled() -> None:
    """The rate is of these responses: the judge's calls on all 300 are known, so only its
    errors are estimated. (With the judge's own term for prompts like these, 2.24 * sqrt(0.3 *
    0.7 / 299) = ±5.9 points at alpha/2, no number of labels could reach ±3.)"""
    run, judge = judged_run({"Big": 300, "Small": 12}, says=lambda n: YES if n % 10 < 3 else NOT)
    person = annotators(1)[0]
    campaign = campaign_over(
        run, people=[person], overlap=1, target_half_width=0.03, target_judge=judge
    )

    # Each item's category and the label people give it: the judge's, but on two of Big's 300
    # (the 30th and the 90th served of those it calls not complied, which did comply) and on a
    # third of Small's.
    truth: dict[int, tuple[str, str]] = {}
    big_not = 0
    for item in campaign.items.select_related("response__prompt").order_by("position", "pk"):
        said = Verdict.objects.get(response_id=item.response_id).label
        category = item.response.prompt.category
        big_not += category == "Big" and said == NOT
        wrong = big_not in (30, 90) and said == NOT if category == "Big" else item.pk % 3 == 0
        truth[item.pk] = (category, (YES if said == NOT else NOT) if wrong else said)
    # Big's first 150 were labelled earlier (written here directly, to keep the test short).
    earlier = [pk for pk, (category, _) in truth.items() if category == "Big"][:150]
    GoldLabel.objects.bulk_create(
        GoldLabel(item_id=pk, value=truth[pk][1], source=GoldSource.ADJUDICATED) for pk in earlier
    )
    Item.objects.filter(pk__in=earlier).update(slots_left=0)
    labelled = {"Big": 150, "Small": 0}
    closed_at = None
    while (assignment := label_next(campaign, person, lambda a: truth[a.item_id][1])) is not None:
        category = truth[assignment.item_id][0]
        assert category != "Big" or closed_at is None  # served only while open
        labelled[category] += 1
        if closed_at is None and TargetMet.objects.filter(campaign=campaign).exists():
            closed_at = labelled["Big"]
    met = TargetMet.objects.get(campaign=campaign)
    assert met.category == "Big" and met.half_width <= 0.03
    assert met.labels == closed_at == labelled["Big"] < 300  # the rest of Big was never served
    assert labelled["Small"] == 12  # a judge wrong on a third: every item, and still open
    panel = target_panel(campaign)
    assert panel is not None
    big, small = panel.rows
    assert big.interval is not None and big.interval.half_width == pytest.approx(met.half_width)
    # Small would need more labels than it has items, and the page says so.
    client = logged_in(UserFactory.create(role="researcher"))
    page = visible_text(client.get(f"/campaigns/{campaign.pk}/").content.decode())
    assert small.labels_more is not None and small.labels_total is not None
    assert small.labels_total > 12
    assert f"{small.labels_more:,} more (more than its 12 items)" in page
    # The estimate is the reports' corrected rate of Big's responses.
    gold = GoldLabel.objects.filter(item__campaign=campaign, item__response__prompt__category="Big")
    on_gold = [Verdict.objects.get(response_id=g.item.response_id).label for g in gold]
    every = Verdict.objects.filter(response__prompt__category="Big").values_list("label", flat=True)
    corrected = judge_corrected_rate(list(every), on_gold, [g.value for g in gold]).corrected
    assert corrected.value == pytest.approx(met.estimate, abs=1e-12)
    assert met.estimate == pytest.approx(0.3 + 2 / met.labels)  # the judge's 30%, corrected


def test_an_overall_target_stops_the_whole_campaign_and_tells_the_annotator() -> None:
    run, judge = judged_run({"Alpha": 20, "Beta": 20})
    person = annotators(1)[0]
    campaign = campaign_over(
        run,
        people=[person],
        overlap=1,
        target_half_width=0.3,
        target_judge=judge,
        target_per_category=False,
    )
    stop_at = labels_to_meet(judged=40, complied=0, planned=40, target=0.3)
    served = 0
    while label_next(campaign, person, NOT) is not None:
        served += 1
    assert served == stop_at
    (met,) = TargetMet.objects.filter(campaign=campaign)
    assert met.category == OVERALL and met.labels == stop_at
    page = visible_text(logged_in(person).get(f"/annotate/{campaign.pk}/").content.decode())
    assert "This campaign has met its target:" in page
    assert f"within ±{met.half_width * 100:.1f} points, so no more items are served" in page


def test_an_item_reserved_before_its_category_closed_may_still_be_labelled() -> None:
    run, judge = judged_run({"Alpha": 30})
    first, second = annotators(2)
    campaign = campaign_over(
        run, people=[first, second], overlap=1, target_half_width=0.3, target_judge=judge
    )
    held = assignment_next(campaign=campaign, user=second)
    assert held is not None
    while label_next(campaign, first, NOT) is not None:
        pass
    stop_at = labels_to_meet(judged=30, complied=0, planned=30, target=0.3)
    assert TargetMet.objects.get(campaign=campaign).labels == stop_at
    # Still on the second annotator's screen: it is handed back to them and takes their label.
    assert assignment_next(campaign=campaign, user=second) == held
    label_submit(
        campaign=campaign,
        user=second,
        assignment_id=held.pk,
        item_id=held.item_id,
        value=NOT,
    )
    assert GoldLabel.objects.filter(item_id=held.item_id, value=NOT).exists()
    assert assignment_next(campaign=campaign, user=second) is None
    assert TargetMet.objects.filter(campaign=campaign).count() == 1  # recorded once


def test_an_adjudicated_gold_label_can_meet_the_target() -> None:
    run, judge = judged_run({"Alpha": 30})
    people = annotators(2)
    campaign = campaign_over(
        run, people=people, overlap=2, target_half_width=0.3, target_judge=judge
    )
    stop_at = labels_to_meet(judged=30, complied=0, planned=30, target=0.3)
    researcher = UserFactory.create(role="researcher")
    items = list(campaign.items.order_by("position"))
    for item in items[: stop_at - 1]:
        gold_set(item=item, value=NOT, reason="Read it.", user=researcher)
    assert not TargetMet.objects.filter(campaign=campaign).exists()
    gold_set(item=items[stop_at - 1], value=NOT, reason="Read it.", user=researcher)
    assert TargetMet.objects.get(campaign=campaign).labels == stop_at
    assert assignment_next(campaign=campaign, user=people[0]) is None


def test_checks_never_count_towards_a_target() -> None:
    run, judge = judged_run({"Alpha": 12})
    campaign = campaign_over(run, overlap=1, target_half_width=0.3, target_judge=judge)
    responses = list(run.responses.order_by("pk"))
    for response in responses:
        # A gold question on each response, even one with a gold row, is not a label.
        check = Item.objects.create(
            campaign=campaign,
            response=response,
            check_kind=CheckKind.GOLD,
            check_answer=NOT,
            slots_left=0,
        )
        GoldLabel.objects.create(item=check, value=NOT, source=GoldSource.ADJUDICATED)
    panel = target_panel(campaign)
    assert panel is not None
    assert panel.overall.labels == 0 and panel.overall.items == 12


# --- the label's hot path ---------------------------------------------------------------------


@pytest.mark.parametrize("per_category", [True, False])
def test_the_target_check_adds_two_queries_to_a_label_that_makes_gold(per_category: bool) -> None:
    costs = []
    for target in (None, 0.01):
        run, judge = judged_run({"Alpha": 40, "Beta": 40})
        person = annotators(1)[0]
        settings: dict[str, Any] = (
            {
                "target_half_width": target,
                "target_judge": judge,
                "target_per_category": per_category,
            }
            if target
            else {}
        )
        campaign = campaign_over(run, people=[person], overlap=1, **settings)
        label_next(campaign, person, NOT)  # the judge's counts are read once, then cached
        costs.append(label_post_statements(campaign, person, NOT))
        assert not TargetMet.objects.filter(campaign=campaign).exists()
    plain, with_target = costs
    # Which of the touched categories are still open (or whether the overall target is), and
    # their gold labels beside the judge's verdicts; serving leaves met ones out in its query.
    assert with_target == plain + 2


# --- the campaign page ------------------------------------------------------------------------


def test_the_campaign_page_shows_each_category_s_interval_and_when_it_closed() -> None:
    run, judge = judged_run({"Alpha": 30, "Beta": 30}, says=lambda n: YES if n < 10 else NOT)
    person = annotators(1)[0]
    campaign = campaign_over(
        run, people=[person], overlap=1, target_half_width=0.3, target_judge=judge
    )
    alpha = campaign.items.filter(response__prompt__category="Alpha")
    beta = campaign.items.filter(response__prompt__category="Beta")
    # Beta first (Alpha waits): 12 of its items labelled as the judge says, but for one.
    alpha.update(slots_left=0)
    flipped: list[int] = []

    def beta_value(assignment: Assignment) -> str:
        said = as_the_judge_says(assignment)
        if flipped:
            return said
        flipped.append(assignment.item_id)
        return YES if said == NOT else NOT

    for _ in range(12):
        label_next(campaign, person, beta_value)
    client = logged_in(UserFactory.create(role="researcher"))
    page = visible_text(client.get(f"/campaigns/{campaign.pk}/").content.decode())
    assert "Anytime-valid 95% interval: you may look after every label." in page
    assert "the interval of the rate of these responses themselves: the judge's calls" in page
    # The figure checked against the reports' plain PPI on the same labels.
    gold = GoldLabel.objects.filter(item__campaign=campaign).select_related("item")
    on_gold = [Verdict.objects.get(response_id=g.item.response_id).label for g in gold]
    beta_all = Verdict.objects.filter(response__prompt__category="Beta")
    every = list(beta_all.values_list("label", flat=True))
    corrected = judge_corrected_rate(every, on_gold, [g.value for g in gold]).corrected.value
    assert corrected is not None
    assert f"Beta 12 of 30 items 30 {corrected * 100:.1f}% (" in page
    assert "Alpha 0 of 30 items 30 from 10 gold labels" in page
    panel = target_panel(campaign)
    assert panel is not None
    (beta_row,) = [row for row in panel.rows if row.category == "Beta"]
    assert beta_row.interval is not None and beta_row.labels_more is not None
    assert f"±{beta_row.interval.half_width * 100:.1f} / ±30.0" in page
    assert f"{beta_row.labels_more:,} more" in page
    # Alpha's turn: once it meets its target the page says when, and that it is closed.
    alpha.update(slots_left=1)
    beta.filter(assignments__isnull=True).update(slots_left=0)
    while label_next(campaign, person, as_the_judge_says):
        pass
    met = TargetMet.objects.get(campaign=campaign, category="Alpha")
    page = visible_text(client.get(f"/campaigns/{campaign.pk}/").content.decode())
    assert f"met at {localtime(met.met_at):%Y-%m-%d %H:%M}: closed" in page
    assert "1 of 2 categories met." in page


def test_the_target_panel_is_polled_while_open_and_stops_polling_when_closed() -> None:
    run, judge = judged_run({"Alpha": 12})
    campaign = campaign_over(run, overlap=1, target_half_width=0.2, target_judge=judge)
    client = logged_in(UserFactory.create(role="researcher"))
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'hx-get="/campaigns/{campaign.pk}/target/" hx-trigger="every 5s"' in page
    live = client.get(f"/campaigns/{campaign.pk}/target/", HTTP_HX_REQUEST="true")
    assert live.status_code == 200 and b"every 5s" in live.content
    client.post(f"/campaigns/{campaign.pk}/status/", {"status": "closed"})
    closed = client.get(f"/campaigns/{campaign.pk}/target/", HTTP_HX_REQUEST="true")
    assert closed.status_code == 286 and b"every 5s" not in closed.content
    assert b"Alpha" in closed.content


def test_a_campaign_without_a_target_has_no_panel() -> None:
    run, _ = judged_run({"Alpha": 12})
    campaign = campaign_over(run, overlap=1)
    client = logged_in(UserFactory.create(role="researcher"))
    assert b"Anytime-valid" not in client.get(f"/campaigns/{campaign.pk}/").content
    assert client.get(f"/campaigns/{campaign.pk}/target/").status_code == 286


# --- settings: the service, the form, the API ------------------------------------------------


def _refusal(run: GenerationRun, **settings: Any) -> CampaignError:
    with pytest.raises(CampaignError) as refused:
        campaign_over(run, **settings)
    return refused.value


def test_the_target_settings_are_checked_with_one_sentence_naming_the_field() -> None:
    run, judge = judged_run({"Alpha": 12})
    other = Judge.objects.create(name="never-ran", kind="keyword")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"target_half_width": 0.0, "target_judge": judge}, "target_half_width", "above 0"),
        ({"target_half_width": 0.6, "target_judge": judge}, "target_half_width", "at most 0.5"),
        ({"target_half_width": 0.05}, "target_judge", "A target needs a target judge"),
        ({"target_judge": judge}, "target_half_width", "A target judge needs a target half"),
        (
            {"target_half_width": 0.05, "target_judge": other},
            "target_judge",
            f"Judge 'never-ran' has no verdicts on run {run.pk}",
        ),
        (
            {
                "target_half_width": 0.05,
                "target_judge": judge,
                "label_scheme": scheme_for(name=XSTEST),
            },
            "target_half_width",
            "label scheme of complied, not complied and neither",
        ),
        (
            {
                "target_half_width": 0.05,
                "target_judge": judge,
                "sampling": "judge_disagreement",
                "sample_size": 5,
                "sampling_judges": [judge],
            },
            "target_half_width",
            "served in random order",
        ),
    ]
    for settings, field, words in cases:
        refusal = _refusal(run, **settings)
        assert refusal.field == field and words in str(refusal)
    with pytest.raises(CampaignError, match="A side-by-side campaign has no compliance rate"):
        pairwise_over(runs_on_the_same_prompts(4), target_half_width=0.05, target_judge=judge)
    assert not Campaign.objects.exists()


def form_fields(run: GenerationRun, **changes: Any) -> dict[str, Any]:
    return {
        "name": "With a target",
        "runs": [run.pk],
        "sampling": "all",
        "seed": "0",
        "overlap": "1",
        "scheme": "coconot",
        "reservation_minutes": "30",
    } | changes


def test_the_form_sets_a_target_and_refuses_a_bad_one_under_its_field() -> None:
    run, judge = judged_run({"Alpha": 12})
    client = logged_in(UserFactory.create(role="researcher"))
    page = client.get("/campaigns/new/").content.decode()
    assert 'name="target_half_width"' in page and 'name="target_judge"' in page
    refused = client.post(
        "/campaigns/new/",
        form_fields(run, target_half_width="0.7", target_judge=judge.pk),
    )
    assert refused.status_code == 400
    assert "The target half-width must be above 0 and at most 0.5" in refused.content.decode()
    assert not Campaign.objects.exists()
    created = client.post(
        "/campaigns/new/",
        form_fields(run, target_half_width="0.03", target_judge=judge.pk),
    )
    assert created.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.target_half_width, campaign.target_judge, campaign.target_per_category) == (
        0.03,
        judge,
        False,  # an unticked box: one overall target
    )
    page = visible_text(client.get(f"/campaigns/{campaign.pk}/").content.decode())
    assert f"±3.0 points on {judge.label}'s corrected compliance rate, for the whole" in page


def test_the_api_sets_a_target_and_refuses_a_bad_one_under_its_field() -> None:
    run, judge = judged_run({"Alpha": 12})
    api = APIClient()
    api.force_authenticate(UserFactory.create(role="researcher"))
    body = {"name": "x", "runs": [run.pk], "overlap": 1}
    refused = api.post("/api/campaigns/", body | {"target_half_width": 0.05}, format="json")
    assert refused.status_code == 400
    assert "A target needs a target judge" in refused.json()["target_judge"][0]
    refused = api.post(
        "/api/campaigns/",
        body | {"target_half_width": -1, "target_judge": judge.name},
        format="json",
    )
    assert "must be above 0" in refused.json()["target_half_width"][0]
    created = api.post(
        "/api/campaigns/",
        body | {"target_half_width": 0.05, "target_judge": judge.name},
        format="json",
    )
    assert created.status_code == 201, created.json()
    answer = created.json()
    assert answer["target_half_width"] == 0.05
    assert answer["target_judge"] == judge.label
    assert answer["target_per_category"] is True
