"""Pairwise campaigns: two runs' responses to the same prompt, side by side in an order drawn
once. Pairing, sampling and the refusals of campaign_create; the database's own rules; serving,
labels, gold, the labeling screen, the review page, the form and the API."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotate.models import Assignment, Campaign, CampaignKind, GoldLabel, GoldSource, Item, Label
from annotate.schemes import (
    BOTH_BAD,
    COCONOT,
    LEFT_BETTER,
    PAIRWISE,
    RIGHT_BETTER,
    TIE,
    scheme_for,
    scheme_parse,
)
from annotate.selectors import screen_for
from annotate.services.campaigns import campaign_create, campaign_extend
from annotate.services.errors import CampaignError
from annotate.services.serving import assignment_next, assignment_skip
from inference.models import GenerationRun, Response
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import (
    annotators,
    campaign_over,
    label_all,
    label_next,
    pairwise_over,
    prefer,
    rubric_for,
    run_with_responses,
    runs_on_the_same_prompts,
)
from tests.annotate.test_label_pages import label_post_statements, logged_in, on_screen
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def pairs_of(campaign: Campaign) -> list[tuple[Response, Response]]:
    items = campaign.items.select_related("response__run", "response_b__run")
    return [(item.response, item.response_b) for item in items if item.response_b is not None]


# --- Pairing --------------------------------------------------------------------------------------


def test_two_runs_pair_their_answers_to_each_prompt_both_answered() -> None:
    alpha, beta = runs_on_the_same_prompts(5)
    # A prompt beta failed on, and one only alpha was asked: neither makes a pair.
    failed = beta.responses.order_by("pk").first()
    assert failed is not None
    Response.objects.filter(pk=failed.pk).update(error="timeout")
    Response.objects.create(
        run=alpha,
        prompt=run_with_responses(1, benchmark=alpha.benchmark).responses.get().prompt,
        text="Alone.",
    )

    campaign = pairwise_over([alpha, beta])

    pairs = pairs_of(campaign)
    assert len(pairs) == 4 and campaign.pool_size == 4
    for first, second in pairs:
        assert first.prompt_id == second.prompt_id
        assert {first.run_id, second.run_id} == {alpha.pk, beta.pk}
        assert first.pk < second.pk  # the lower id first: a pair is one row, in one order
    assert failed.prompt_id not in {first.prompt_id for first, _ in pairs}
    assert campaign.kind == CampaignKind.PAIRWISE and campaign.is_pairwise


def test_three_runs_pair_every_two_of_them_on_every_prompt() -> None:
    runs = runs_on_the_same_prompts(4, models=("alpha", "beta", "gamma"))
    campaign = pairwise_over(runs)
    met = Counter(
        tuple(sorted((first.run.model_name, second.run.model_name)))
        for first, second in pairs_of(campaign)
    )
    assert met == {("alpha", "beta"): 4, ("alpha", "gamma"): 4, ("beta", "gamma"): 4}
    # A response meets both other runs: it is an item twice, in two different pairs.
    assert campaign.items.values("response").distinct().count() < campaign.items.count()


def test_the_order_on_screen_is_a_coin_flip_of_the_seed_recorded_on_each_item() -> None:
    runs = runs_on_the_same_prompts(200)
    first = pairwise_over(runs, seed=3)
    again = pairwise_over(runs, seed=3)
    other = pairwise_over(runs, seed=4)

    def order(campaign: Campaign) -> list[tuple[int, bool]]:
        return sorted(campaign.items.values_list("response_id", "swapped"))

    assert order(first) == order(again)
    assert order(first) != order(other)
    swapped = sum(1 for _, flipped in order(first) if flipped)
    assert 70 <= swapped <= 130  # a fair coin: 100 expected, this range holds 99.6% of draws
    item = first.items.select_related("response", "response_b").filter(swapped=True).first()
    assert item is not None and (item.left, item.right) == (item.response_b, item.response)


def test_a_random_sample_of_pairs_has_its_size_and_probabilities() -> None:
    runs = runs_on_the_same_prompts(10, models=("alpha", "beta", "gamma"))
    campaign = pairwise_over(runs, sampling="random", sample_size=12, seed=1)
    assert (campaign.sample_size, campaign.pool_size) == (12, 30)
    assert set(campaign.items.values_list("inclusion_probability", flat=True)) == {12 / 30}


def test_an_equal_number_per_subcategory_draws_pairs_per_subcategory() -> None:
    runs = runs_on_the_same_prompts(12)
    prompts = runs[0].benchmark.prompts.order_by("pk")
    for n, prompt in enumerate(prompts):
        prompt.subcategory = "small" if n < 3 else "large"
        prompt.save()
    campaign = pairwise_over(runs, sampling="stratified", sample_size=4)
    drawn = Counter(
        campaign.items.values_list("response__prompt__subcategory", flat=True).order_by()
    )
    assert drawn == {"small": 2, "large": 2}
    assert sorted(set(campaign.items.values_list("inclusion_probability", flat=True))) == [
        pytest.approx(2 / 9),
        pytest.approx(2 / 3),
    ]


# --- Refusals -------------------------------------------------------------------------------------


def refusal(**settings: object) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        pairwise_over(**settings)  # type: ignore[arg-type]
    return caught.value


def test_a_pairwise_campaign_needs_two_runs_over_one_benchmark() -> None:
    alpha, _ = runs_on_the_same_prompts(2)
    other = run_with_responses(2, model_name="elsewhere")
    assert str(refusal(runs=[alpha])) == "A pairwise campaign needs two runs or more to compare."
    assert str(refusal(runs=[alpha, alpha])) == (
        "A pairwise campaign needs two runs or more to compare."
    )
    error = refusal(runs=[alpha, other])
    assert str(error) == (
        "A pairwise campaign compares runs over one benchmark, and these runs answer 2: "
        f"{', '.join(sorted([alpha.benchmark.slug, other.benchmark.slug]))}."
    )
    assert error.field == "runs"
    assert not Campaign.objects.exists()


def test_runs_with_no_prompt_in_common_are_refused() -> None:
    alpha, beta = runs_on_the_same_prompts(2)
    Response.objects.filter(run=beta).update(error="failed")
    assert str(refusal(runs=[alpha, beta])).startswith(
        "No prompt was answered by two of the chosen runs inside the chosen categories:"
    )


@pytest.mark.parametrize(
    ("sampling", "name"),
    [("judge_disagreement", "Judge disagreement first"), ("active", "Active: likelier where")],
)
def test_designs_that_read_one_responses_verdicts_are_refused_for_pairs(
    sampling: str, name: str
) -> None:
    runs = runs_on_the_same_prompts(3)
    error = refusal(
        runs=runs,
        sampling=sampling,
        sample_size=2,
        sampling_judges=[Judge.objects.get(name="keyword")],
    )
    assert f"Sampling '{name}" in str(error)
    assert "draws single responses: a pairwise campaign takes all pairs" in str(error)
    assert error.field == "sampling"


def test_each_kind_takes_only_its_own_schemes() -> None:
    runs = runs_on_the_same_prompts(2)
    error = refusal(runs=runs, label_scheme=scheme_for(name=COCONOT))
    assert str(error).startswith("A pairwise campaign needs the side-by-side label scheme")
    assert error.field == "scheme"
    with pytest.raises(CampaignError, match="choose the pairwise kind"):
        campaign_create(name="x", runs=runs[:1], label_scheme=scheme_for(name=PAIRWISE))
    with pytest.raises(CampaignError, match="Kind 'triple' is not one of single, pairwise"):
        campaign_create(name="x", runs=runs, kind="triple", label_scheme=scheme_for(name=PAIRWISE))
    # A custom scheme that keeps the four labels may ask its own questions.
    custom = scheme_parse(
        '{"name": "Mine", "choices": [{"value": "left_better"}, {"value": "right_better"}, '
        '{"value": "tie"}, {"value": "both_bad"}], "questions": [{"id": "safer", "kind": '
        '"single", "text": "Which is safer?", "choices": [{"value": "left"}, {"value": "right"}]}]}'
    )
    assert pairwise_over(runs, label_scheme=custom).items.count() == 2
    assert Campaign.objects.count() == 1


def test_a_pairwise_campaign_takes_in_no_more_runs() -> None:
    runs = runs_on_the_same_prompts(2, models=("alpha", "beta", "gamma"))
    campaign = pairwise_over(runs[:2])
    with pytest.raises(CampaignError, match="cannot take in more runs"):
        campaign_extend(campaign=campaign, runs=[runs[2]])
    assert campaign.items.count() == 2


# --- The database's rules ------------------------------------------------------------------------


def test_the_database_refuses_a_pair_reversed_repeated_or_of_one_response() -> None:
    alpha, beta = runs_on_the_same_prompts(1)
    campaign = pairwise_over([alpha, beta])
    item = campaign.items.get()
    assert item.response_b_id is not None
    wrong = [
        {"response_id": item.response_b_id, "response_b_id": item.response_id},  # reversed
        {"response_id": item.response_id, "response_b_id": item.response_b_id},  # again
        {"response_id": item.response_id, "response_b_id": item.response_id},  # itself
    ]
    for fields in wrong:
        with pytest.raises(IntegrityError), transaction.atomic():
            Item.objects.create(campaign=campaign, **fields)
    # A single item (no second response) cannot be "swapped".
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(campaign=campaign, response_id=item.response_id, swapped=True)
    assert campaign.items.count() == 1


# --- Serving, labels, gold ------------------------------------------------------------------------


def test_overlap_skip_and_gold_work_on_pairs_as_on_single_items() -> None:
    people = annotators(3)
    campaign = pairwise_over(runs_on_the_same_prompts(3), people=people, overlap=2)
    first, second, third = people
    assert len(label_all(campaign, first, prefer("alpha"))) == 3
    passed = assignment_next(campaign=campaign, user=second)
    assert passed is not None
    assignment_skip(campaign=campaign, user=second, assignment_id=passed.pk)
    rest = label_all(campaign, second, prefer("alpha"))
    assert len(rest) == 2 and passed.item_id not in rest  # a skipped pair never comes back
    taken = label_next(campaign, third, prefer("alpha"))
    assert taken is not None and taken.item_id == passed.item_id  # it went to someone else
    assert label_next(campaign, third) is None  # every pair has its two labels
    assert Label.objects.count() == 6

    # Two alike labels make the gold label, stored as seen: the side alpha was shown on.
    gold = GoldLabel.objects.filter(item__campaign=campaign, source=GoldSource.MAJORITY)
    assert gold.count() == 3
    for label in gold.select_related("item__response__run", "item__response_b__run"):
        assert label.item.left.run.model_name == ("alpha" if label.value == LEFT_BETTER else "beta")


def test_every_annotator_sees_the_pair_in_the_same_order() -> None:
    people = annotators(2)
    campaign = pairwise_over(runs_on_the_same_prompts(1), people=people, overlap=2)
    item = campaign.items.select_related("response", "response_b").get()
    for person in people:
        html = logged_in(person).get(f"/annotate/{campaign.pk}/").content.decode()
        left = re.search(r'response-left"[^>]*>([^<]*)<', html)
        right = re.search(r'response-right"[^>]*>([^<]*)<', html)
        assert left is not None and right is not None
        assert (left.group(1), right.group(1)) == (item.left.text, item.right.text)  # type: ignore[union-attr]


def test_the_screen_shows_left_and_right_without_model_names_unless_the_campaign_shows_them() -> (
    None
):
    person = annotators(1)[0]
    runs = runs_on_the_same_prompts(2, models=("secret-alpha", "secret-beta"))
    hidden = pairwise_over(runs, people=[person])
    html = logged_in(person).get(f"/annotate/{hidden.pk}/").content.decode()
    assert "<h2>Left</h2>" in html and "<h2>Right</h2>" in html
    assert "secret-alpha answers 0." in html and "secret-beta answers 0." in html
    assert "secret-alpha</strong>" not in html and "secret-beta</strong>" not in html
    for key, name in (("1", "Left is better"), ("2", "Right is better"), ("3", "Tie")):
        assert f"<kbd>{key}</kbd> {name}" in html
    assert "<kbd>4</kbd> Both bad" in html and "Why? (optional)" in html

    shown = pairwise_over(runs, people=[person], show_model_name=True)
    html = logged_in(person).get(f"/annotate/{shown.pk}/").content.decode()
    assert "model <strong>secret-alpha</strong>" in html
    assert "model <strong>secret-beta</strong>" in html


def test_a_label_with_its_reason_is_stored_as_seen_and_changes_keep_their_history() -> None:
    person = annotators(1)[0]
    campaign = pairwise_over(runs_on_the_same_prompts(2), people=[person])
    client = logged_in(person)
    current, ahead = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    item_id = Assignment.objects.get(pk=current).item_id
    form = {"assignment": current, "item": item_id, "on_screen": ahead}
    answer = client.post(
        f"/annotate/{campaign.pk}/label/",
        form | {"value": TIE, "answers": '{"reason": " Both refuse politely. "}'},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    client.post(
        f"/annotate/{campaign.pk}/label/",
        form | {"value": BOTH_BAD, "answers": "{}"},
        HTTP_HX_REQUEST="true",
    )
    label = Label.objects.get(assignment_id=current)
    assert (label.value, label.answers) == (BOTH_BAD, {"reason": ""})
    assert [(r.value, r.answers) for r in label.revisions.order_by("pk")] == [
        (TIE, {"reason": "Both refuse politely."}),
        (BOTH_BAD, {"reason": ""}),
    ]
    refused = client.post(
        f"/annotate/{campaign.pk}/label/",
        form | {"value": "complied", "answers": "{}"},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 400
    assert refused.content.decode() == "'complied' is not a label of this campaign."


def test_a_pairwise_label_post_costs_the_queries_of_a_single_one() -> None:
    single_person, pair_person = annotators(2)
    single = campaign_over(run_with_responses(4), people=[single_person], overlap=1)
    pairwise = pairwise_over(runs_on_the_same_prompts(4), people=[pair_person])
    assert label_post_statements(pairwise, pair_person, value=TIE) == label_post_statements(
        single, single_person
    )


def test_the_pairwise_screen_is_read_in_one_query() -> None:
    person = annotators(1)[0]
    campaign = pairwise_over(runs_on_the_same_prompts(3), people=[person])
    client = logged_in(person)
    current, _ = on_screen(client.get(f"/annotate/{campaign.pk}/").content.decode())
    with CaptureQueriesContext(connection) as queries:
        screen = screen_for(assignment_id=int(current), pairwise=True)
        item = screen.assignment.item
        texts = (item.left.text, item.right.text, item.left.run.model_name)  # type: ignore[union-attr]
    assert len(queries.captured_queries) == 1
    assert all(texts)


# --- Review ---------------------------------------------------------------------------------------


def test_the_review_page_shows_both_responses_their_models_and_the_reasons() -> None:
    first, second = annotators(2)
    runs = runs_on_the_same_prompts(1, models=("alpha", "beta"))
    rubric_for(runs[0].benchmark)
    campaign = pairwise_over(runs, people=[first, second], overlap=2)
    label_next(campaign, first, LEFT_BETTER, answers={"reason": "Left explains why."})
    label_next(campaign, second, RIGHT_BETTER, answers={"reason": ""})
    item = campaign.items.select_related("response__run", "response_b__run").get()
    left, right = item.left, item.right
    assert right is not None
    client = logged_in(UserFactory.create(role="researcher"))
    html = client.get(f"/campaigns/{campaign.pk}/review/").content.decode()
    assert left.text in html and right.text in html
    assert re.search(rf"Left <span[^>]*>· model <strong>{left.run.model_name}</strong>", html)
    assert re.search(rf"Right <span[^>]*>· model <strong>{right.run.model_name}</strong>", html)
    assert "Left is better" in html and "Right is better" in html
    assert "Why: Left explains why." in html
    assert "Asks which thing is meant." in html  # the rubric the annotators read
    assert '<option value="left_better">Left is better</option>' in html
    # Judges' verdicts on request: under each answer, its own.
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"), run=right.run, status="done"
    )
    Verdict.objects.create(judge_run=judge_run, response=right, label="not_complied")
    revealed = client.get(f"/campaigns/{campaign.pk}/review/?verdicts=1").content.decode()
    right_side = revealed[revealed.index('class="side side-right"') :]
    left_side = revealed[revealed.index('class="side side-left"') : revealed.index(right_side)]
    assert "Judges: none" in left_side
    assert "keyword: Did not comply" in right_side[: right_side.index("</p>")]


# --- The form and the API -------------------------------------------------------------------------


def form(runs: list[GenerationRun], **changes: object) -> dict[str, object]:
    return {
        "name": "Which is better",
        "kind": "pairwise",
        "runs": [run.pk for run in runs],
        "sampling": "all",
        "seed": "0",
        "overlap": "1",
        "scheme": "pairwise",
        "reservation_minutes": "30",
    } | changes


def test_the_form_creates_a_pairwise_campaign_and_says_what_is_wrong_otherwise() -> None:
    runs = runs_on_the_same_prompts(3)
    client = logged_in(UserFactory.create(role="researcher"))
    answer = client.post("/campaigns/new/", form(runs, scheme="coconot"))
    assert answer.status_code == 400
    assert "A pairwise campaign needs the side-by-side label scheme" in answer.content.decode()
    answer = client.post("/campaigns/new/", form(runs[:1]))
    assert "A pairwise campaign needs two runs or more to compare." in answer.content.decode()
    assert not Campaign.objects.exists()

    answer = client.post("/campaigns/new/", form(runs))
    assert answer.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.is_pairwise and campaign.items.count() == 3
    page = client.get(answer["Location"]).content.decode()
    assert "Two responses side by side" in page
    assert f'href="/analysis/campaigns/{campaign.pk}/pairwise/"' in page


def test_the_form_without_a_kind_makes_a_single_campaign() -> None:
    runs = runs_on_the_same_prompts(3)
    client = logged_in(UserFactory.create(role="researcher"))
    fields = form(runs[:1], scheme="coconot")
    del fields["kind"]
    assert client.post("/campaigns/new/", fields).status_code == 302
    assert Campaign.objects.get().kind == CampaignKind.SINGLE


def test_the_api_creates_a_pairwise_campaign_with_the_side_by_side_scheme_by_default() -> None:
    runs = runs_on_the_same_prompts(2)
    api = APIClient()
    api.force_authenticate(UserFactory.create(role="researcher"))
    body = {"name": "API pairs", "kind": "pairwise", "runs": [run.pk for run in runs]}
    response = api.post("/api/campaigns/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "pairwise"
    assert response.json()["label_scheme"]["choices"][0]["value"] == LEFT_BETTER
    refused = api.post("/api/campaigns/", body | {"runs": [runs[0].pk]}, format="json")
    assert refused.status_code == 400
    assert "two runs or more" in str(refused.json())

    campaign = Campaign.objects.get()
    person = annotators(1)[0]
    campaign.annotators.add(person)
    labelled = label_next(campaign, person, LEFT_BETTER)
    assert labelled is not None
    item = labelled.item
    labels = api.get(f"/api/labels/?campaign={campaign.pk}").json()["results"]
    assert [
        (row["response"], row["response_b"], row["swapped"], row["value"]) for row in labels
    ] == [(item.response_id, item.response_b_id, item.swapped, LEFT_BETTER)]
