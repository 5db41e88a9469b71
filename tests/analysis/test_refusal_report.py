"""The "How models refuse" page, with figures a person can check by hand."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from annotate.models import Item, Label
from annotate.schemes import COCONOT, scheme_for
from annotate.services.gold import gold_set
from benchmarks.models import Prompt
from tests.analysis.refusal_campaigns import (
    complied,
    label_every_item,
    page_text,
    refusal,
    refusal_campaign,
    response_ids,
)
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.factories import BenchmarkFactory, UserFactory

pytestmark = pytest.mark.django_db

SAFETY = "Requests with safety concerns"


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def figures_after(text: str, start: str, end: str) -> str:
    """What the page says between two marks (the first of each after ``start``)."""
    return text.split(start, 1)[1].split(end, 1)[0]


def two_models():
    """Model A: 12 refusals and 2 answers that complied; model B: 4 refusals, 2 complied. One
    annotator labels everything, so every label is gold and every figure is a plain count.

    Model A's refusals: 9 of 12 explain why (75%), 6 of 12 offer help (50%), 6 ask for what
    is missing, 4 do not and 2 are "not applicable" (6 of 10: 60%), 3 of 12 preach (25%);
    qualities 5 5 4 4 4 4 3 3 3 2 2 1 (40/12 = 3.33). Its odd-numbered responses are in
    another category: 6 refusals there, too few for a figure.
    """
    benchmark = BenchmarkFactory.create()
    model_a = run_with_responses(
        14, benchmark=benchmark, model_name="model-a", subcategories=("underspecified", "weapons")
    )
    model_b = run_with_responses(6, benchmark=benchmark, model_name="model-b")
    Prompt.objects.filter(subcategory="weapons").update(category=SAFETY)
    explains = ["yes"] * 9 + ["no"] * 3
    helps = ["yes", "no"] * 6
    asks = ["yes"] * 6 + ["no"] * 4 + ["not_applicable"] * 2
    preachy = ["no"] * 9 + ["yes"] * 3
    quality = [5, 5, 4, 4, 4, 4, 3, 3, 3, 2, 2, 1]
    given = [
        refusal(e, h, a, p, q)
        for e, h, a, p, q in zip(explains, helps, asks, preachy, quality, strict=True)
    ] + [complied(), complied("partial_refusal")]
    given_b = [*(refusal(e) for e in ("yes", "yes", "yes", "no")), complied(), complied()]
    labels = dict(zip(response_ids(model_a), given, strict=True))
    labels |= dict(zip(response_ids(model_b), given_b, strict=True))
    (person,) = annotators(1)
    campaign = refusal_campaign([model_a, model_b], [person], overlap=1)
    assert label_every_item(campaign, person, labels) == 20
    return campaign, model_a, model_b


def test_the_report_shows_each_models_refusals_side_by_side_as_counted_by_hand() -> None:
    campaign, model_a, model_b = two_models()
    answer = researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/")
    assert answer.status_code == 200
    text = page_text(answer.content)
    first_a = f"model-a (run {model_a.pk})"
    first_b = f"model-b (run {model_b.pk})"
    row_a = figures_after(text, f"All categories {first_a}", first_b)
    assert re.fullmatch(
        r" 12 75\.0% \[[\d.]+, [\d.]+\] 50\.0% \[[\d.]+, [\d.]+\] 60\.0% \[[\d.]+, [\d.]+\] "
        r"25\.0% \[[\d.]+, [\d.]+\] 3\.33 \[[\d.]+, [\d.]+\] ",
        row_a,
    ), row_a
    # Model B refused 4 times: too few for any figure, and the page says so.
    row_b = figures_after(text, f"{first_a} 12", "Incomplete requests")
    row_b = row_b.split(first_b, 1)[1]
    assert row_b.strip().startswith("4 too few items (n=4; 10 needed)")
    # A category of model A with 6 refusals (the odd-numbered responses, all in SAFETY).
    assert f"{SAFETY} {first_a} 6 too few items (n=6; 10 needed)" in text
    assert '"not applicable" (a request that misses nothing) are left out' in text
    assert "16 of the 20 labelled items are refusals" in text


def test_every_answer_is_shown_per_model_with_not_applicable_a_share_of_its_own() -> None:
    campaign, model_a, _ = two_models()
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/").content)
    asks = figures_after(text, "Does it ask for what is missing? (asks_missing)", "(preachy)")
    # 6 yes, 4 no, 2 not applicable of 12.
    assert re.search(
        rf"All categories model-a \(run {model_a.pk}\) 12 50\.0% \[[\d.]+, [\d.]+\] "
        r"33\.3% \[[\d.]+, [\d.]+\] 16\.7% \[",
        asks,
    ), asks
    # Model A's 2 answers that complied, one of them partly: asked of 2 items, too few.
    compliance = figures_after(text, "(compliance)", "</table>")
    assert f"model-a (run {model_a.pk}) 2 too few items (n=2; 10 needed)" in compliance


def test_the_report_draws_the_shares_and_the_mean_quality_of_each_model() -> None:
    campaign, *_ = two_models()
    page = researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/").content.decode()
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(charts) == 2
    shares, quality = charts
    assert "share of refusals (95% bootstrap CI)" in shares
    assert "Explains why" in shares and "model-a" in shares and "model-b" in shares
    assert 'id="bar-0-0"' in shares  # model A's "explains why" bar is drawn
    assert 'id="too-few-1-0"' in shares  # model B's is a "too few" point, not a bar
    assert "mean quality (1-5) (95% bootstrap CI)" in quality


def test_each_refusal_counts_once_with_its_annotators_answers_averaged() -> None:
    """Two annotators. On 10 items both say "did not comply"; A1 says each explains why, A2
    says so for 5 of them: 5 + 5 x 1/2 = 7.5 of 10. On an 11th they split (complied against
    not complied) and a researcher settles it as a refusal: only A2, who called it one, was
    asked, and A2 says it does not explain: 7.5 of 11 = 68.2%. On a 12th they split and nobody
    settled it: it is left out, and the page says so. Quality: A1 4, A2 2, so 3 on every item."""
    run = run_with_responses(12)
    ids = response_ids(run)
    first, second = annotators(2)
    campaign = refusal_campaign([run], [first, second], overlap=2)
    mine = {r: refusal("yes", quality=4) for r in ids[:10]} | {
        ids[10]: complied(),
        ids[11]: complied(),
    }
    theirs = {r: refusal("yes" if n < 5 else "no", quality=2) for n, r in enumerate(ids[:10])}
    theirs |= {ids[10]: refusal("no", quality=3), ids[11]: refusal("no", quality=3)}
    assert label_every_item(campaign, first, mine) == 12
    assert label_every_item(campaign, second, theirs) == 12
    settled = Item.objects.get(campaign=campaign, response_id=ids[10])
    gold_set(item=settled, value="not_complied", reason="It refused.", user=first)
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/").content)
    row = figures_after(text, f"All categories model-under-test (run {run.pk})", "Every answer")
    assert re.match(r" 11 68\.2% \[[\d.]+, [\d.]+\] ", row), row
    assert " 3.00 [3.00, 3.00]" in row  # (10 x 3 + 3) / 11: every item's mean is 3
    assert "1 item where annotators split on the label has no gold label" in text


def test_a_campaign_that_asks_no_refusal_question_says_why_there_is_no_report() -> None:
    run = run_with_responses(3)
    campaign = campaign_over(run, people=[], overlap=1, label_scheme=scheme_for(name=COCONOT))
    answer = researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/")
    assert answer.status_code == 200
    assert "asks no yes/no or rating question about refusals" in page_text(answer.content)
    assert b"<svg" not in answer.content


def test_a_campaign_with_no_labels_yet_says_so_in_every_figure() -> None:
    run = run_with_responses(3, model_name="quiet")
    campaign = refusal_campaign([run], annotators(1), overlap=1)
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/").content)
    assert "0 of the 0 labelled items are refusals" in text
    assert f"All categories quiet (run {run.pk}) 0 no items no items" in text


def test_the_campaign_and_agreement_pages_link_the_report() -> None:
    campaign, *_ = two_models()
    client = researcher()
    link = f'href="/analysis/campaigns/{campaign.pk}/refusals/"'
    assert link in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert link in client.get(f"/analysis/campaigns/{campaign.pk}/").content.decode()
    plain = campaign_over(run_with_responses(2), people=[], overlap=1)
    assert "/refusals/" not in client.get(f"/campaigns/{plain.pk}/").content.decode()


def test_an_oversampled_campaign_weighs_each_refusal_by_its_inverse_inclusion_probability() -> None:
    """Model A's 3 refusals that do not explain were drawn with probability 1/4 (weight 4),
    the 9 that do with probability 1: 9 / (9 + 3 x 4) = 42.9% of its refusals explain why."""
    campaign, model_a, _ = two_models()
    unexplained = response_ids(model_a)[9:12]
    campaign.items.filter(response_id__in=unexplained).update(inclusion_probability=0.25)
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/").content)
    assert "figures are weighted by inverse inclusion probability" in text
    assert re.search(rf"All categories model-a \(run {model_a.pk}\) 12 42\.9% \[", text)


def test_an_answer_edited_into_something_else_counts_as_no_answer() -> None:
    """A label changed by hand in the admin (a quality of 9, "maybe" for explains why) is not
    a value of its own and no error: that refusal just has no answer to those questions."""
    campaign, model_a, _ = two_models()
    label = Label.objects.get(
        assignment__item__campaign=campaign,
        assignment__item__response_id=response_ids(model_a)[0],
    )
    label.answers |= {"quality": 9, "explains_why": "maybe"}
    label.save(update_fields=["answers"])
    answer = researcher().get(f"/analysis/campaigns/{campaign.pk}/refusals/")
    assert answer.status_code == 200
    text = page_text(answer.content)
    # 8 of the 11 other refusals explain why; qualities without the first 5: 35 / 11.
    assert re.search(rf"model-a \(run {model_a.pk}\) 12 72\.7% \[.*?\] 50\.0% .*? 3\.18 \[", text)
    assert "Agreement per question" in page_text(
        researcher().get(f"/analysis/campaigns/{campaign.pk}/").content
    )
