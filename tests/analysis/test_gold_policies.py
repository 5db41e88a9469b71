"""The agreement report under each gold policy (agreed or adjudicated, Dawid-Skene, MACE), and the
chance-corrected figures beside kappa, as a researcher reads them; the model's gold is checked
against crowd-kit called directly, AC1 against irrCAC."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import ppi_py
import pytest
from crowdkit.aggregation import DawidSkene
from irrCAC.raw import CAC
from sklearn.metrics import cohen_kappa_score

from analysis.aggregation import METHODS
from analysis.exports import GOLD_POLICY_NAMES
from analysis.gold_policies import CONSENSUS, GOLD_POLICIES, gold_by_policy
from analysis.reports import agreement_report
from analysis.selectors import campaign_data
from annotate.models import Campaign, Item
from annotate.services.gold import gold_set
from judging.models import Judge
from tests.analysis.test_report_pages import judge_all, page_text, researcher
from tests.annotate.builders import annotators, campaign_over, label_all, run_with_responses
from tests.factories import UserFactory
from tests.processes import manage

pytestmark = pytest.mark.django_db

CLASSES = ("not_complied", "complied", "neither")


def crowd_with_a_spammer(n: int = 60, seed: int = 3) -> tuple[Campaign, list[str]]:
    """Three careful annotators and a random clicker label every item of a skewed run; the
    true labels are returned (the keyword judge is given them, save every fifth item)."""
    rng = random.Random(seed)
    truth = [rng.choices(CLASSES, weights=(8, 1, 1))[0] for _ in range(n)]
    run = run_with_responses(n)
    people = annotators(4)
    campaign = campaign_over(run, people=people, overlap=4)
    response_ids = list(run.responses.order_by("pk").values_list("pk", flat=True))
    true_of = dict(zip(response_ids, truth, strict=True))
    for index, person in enumerate(people):
        careless = index == 3

        def value(assignment, careless: bool = careless) -> str:
            right = true_of[assignment.item.response_id]
            if careless:
                return rng.choice(CLASSES)
            return right if rng.random() < 0.9 else rng.choice(CLASSES)

        label_all(campaign, person, value)
    judged = [label if i % 5 else "complied" for i, label in enumerate(truth)]
    # A transactional test empties the tables afterwards, the keyword judge its migration made too.
    keyword, _ = Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})
    judge_all(run, keyword, judged)
    return campaign, truth


def test_dawid_skene_gold_is_crowd_kits_and_a_researchers_adjudication_still_stands() -> None:
    campaign, _ = crowd_with_a_spammer()
    first = Item.objects.filter(campaign=campaign).order_by("position").first()
    assert first is not None
    gold_set(
        item=first, value="neither", reason="Read it.", user=UserFactory.create(role="researcher")
    )
    data = campaign_data(campaign=campaign)
    modelled = gold_by_policy(data, "dawid_skene").data
    long = pd.DataFrame(
        [
            {"task": row, "worker": name, "label": label}
            for row, labels in enumerate(data.ratings)
            for name, label in zip(data.annotators, labels, strict=True)
            if label is not None
        ]
    )
    expected = DawidSkene(n_iter=100).fit_predict(long)
    assert modelled.gold[0] == "neither" and modelled.gold_sources[0] == "adjudicated"
    assert modelled.gold[1:] == [expected[row] for row in range(1, len(data.item_ids))]
    assert set(modelled.gold_sources[1:]) == {"dawid_skene"}
    # The campaign's own gold leaves out the items the annotators split on.
    assert None in gold_by_policy(data, CONSENSUS).data.gold


def test_the_agreement_page_switches_gold_policy_and_says_which() -> None:
    campaign, _ = crowd_with_a_spammer()
    client = researcher()
    own = page_text(client.get(f"/analysis/campaigns/{campaign.pk}/").content)
    modelled = page_text(client.get(f"/analysis/campaigns/{campaign.pk}/?gold=dawid_skene").content)
    mace = page_text(client.get(f"/analysis/campaigns/{campaign.pk}/?gold=mace").content)
    assert "Every figure on this page uses Agreed or adjudicated gold" in own
    assert "Every figure on this page uses Dawid-Skene gold" in modelled
    assert "Every figure on this page uses MACE gold" in mace
    # The judges' kappa under every policy, side by side, on each page.
    for text in (own, modelled, mace):
        assert "How the judges' figures change with the gold policy" in text
    data = campaign_data(campaign=campaign)
    agreed = sum(g is not None for g in data.gold)
    assert f"gold items {agreed} {len(data.item_ids)} {len(data.item_ids)}" in own
    # What each model learned about each annotator, as the model itself says it.
    assert "What Dawid-Skene learned about each annotator" in modelled
    assert "What MACE learned about each annotator" in mace and "Competence" in mace
    assert "learned about each annotator" not in own
    fitted = gold_by_policy(data, "dawid_skene").fitted
    assert fitted is not None
    spammer = fitted.confusion["A4"]
    row = list(fitted.labels).index("not_complied")
    shown = " ".join(f"{share:.2f}" for share in spammer[row])
    assert f"A4 Did not comply {shown}" in modelled
    # Anything else is the campaign's own gold, not an error.
    other = client.get(f"/analysis/campaigns/{campaign.pk}/?gold=nonsense")
    assert other.status_code == 200
    assert "uses Agreed or adjudicated gold" in page_text(other.content)


def test_ac1_and_pabak_stand_beside_kappa_with_a_warning_on_skewed_labels() -> None:
    n = 40
    run = run_with_responses(n)
    people = annotators(2)
    campaign = campaign_over(run, people=people, overlap=2)
    # 38 refusals and 2 answers: the judge misses one answer and one refusal.
    truth = ["not_complied"] * 38 + ["complied"] * 2
    response_ids = list(run.responses.order_by("pk").values_list("pk", flat=True))
    true_of = dict(zip(response_ids, truth, strict=True))
    for person in people:
        label_all(campaign, person, lambda a: true_of[a.item.response_id])
    judged = ["not_complied"] * 37 + ["complied", "not_complied", "complied"]
    keyword, _ = Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})
    judge_all(run, keyword, judged)
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert "Did not comply is 95% of the labels." in text
    assert "Gwet's AC1" in text and "PABAK" in text and "Prevalence index" in text
    table = text[text.index("Judges against people") :]
    found = re.search(r"keyword (\S+) \[[^]]*\] (\S+) \[[^]]*\] (\S+) \[", table)
    assert found is not None
    kappa, ac1, pabak = (float(value) for value in found.groups())
    assert kappa == pytest.approx(cohen_kappa_score(truth, judged), abs=0.005)
    reference = CAC(
        pd.DataFrame({"people": truth, "judge": judged}), categories=list(CLASSES)
    ).gwet()
    assert ac1 == pytest.approx(reference["est"]["coefficient_value"], abs=0.005)
    # PABAK with three classes: (3 x 38/40 - 1) / 2; AC1 stays high where kappa collapses.
    assert pabak == pytest.approx((3 * 38 / 40 - 1) / 2, abs=0.0051)
    assert kappa < 0.5 < 0.9 < ac1


def test_the_json_report_takes_the_gold_policy_too() -> None:
    campaign, _ = crowd_with_a_spammer()
    client = researcher()
    own = client.get(f"/api/campaigns/{campaign.pk}/report/").json()
    modelled = client.get(f"/api/campaigns/{campaign.pk}/report/?gold=dawid_skene").json()
    assert (own["gold_policy"], modelled["gold_policy"]) == ("consensus", "dawid_skene")
    data = campaign_data(campaign=campaign)
    assert own["gold_items"] == sum(g is not None for g in data.gold)
    assert modelled["gold_items"] == len(data.item_ids)
    (row,) = modelled["judges_by_gold_policy"]
    assert row["judge"] == "keyword" and set(row) == {"judge", "consensus", "dawid_skene", "mace"}
    assert row["dawid_skene"]["kappa"] == modelled["judges"][0]["overall"]["kappa"]
    assert "gwet_ac1" in modelled["judges"][0]["overall"]


def test_the_export_names_the_same_gold_policies_as_the_report() -> None:
    # exports.py names them without loading the models; the report's are the meaning.
    assert tuple(GOLD_POLICIES) == GOLD_POLICY_NAMES
    assert set(GOLD_POLICY_NAMES) - {CONSENSUS} == set(METHODS)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_gold_export_writes_the_models_gold_when_asked(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    campaign, _ = crowd_with_a_spammer()
    data = campaign_data(campaign=campaign)
    modelled = gold_by_policy(data, "dawid_skene").data
    exported = {}
    for policy in ("consensus", "dawid_skene"):
        path = tmp_path / f"{policy}.jsonl"
        done = manage(
            "export_gold",
            "--campaign",
            str(campaign.pk),
            "--gold-policy",
            policy,
            "-o",
            str(path),
            env=shell_env,
        )
        assert done.returncode == 0, done.stderr
        exported[policy] = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["gold_label"] for row in exported["dawid_skene"]] == modelled.gold
    assert {row["gold_source"] for row in exported["dawid_skene"]} == {"dawid_skene"}
    assert [row["gold_label"] for row in exported["consensus"]] == data.gold
    wrong = manage(
        "export_gold", "--campaign", str(campaign.pk), "--gold-policy", "vote",
        "-o", str(tmp_path / "x.jsonl"), env=shell_env,
    )  # fmt: skip
    assert wrong.returncode != 0
    assert "Unknown gold policy 'vote'; use consensus, dawid_skene, mace." in wrong.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_each_pair_of_annotators_has_kappa_ac1_pabak_and_the_prevalence_and_bias_indices() -> None:
    campaign, _ = crowd_with_a_spammer()
    data = campaign_data(campaign=campaign)
    report = agreement_report(data=data, run_labels={})
    pairs = {(a, b): pair for a, b, pair in report.annotator_pairs}
    assert set(pairs) == {
        (a, b) for i, a in enumerate(data.annotators) for b in data.annotators[i + 1 :]
    }
    first = [row[0] for row in data.ratings]
    fourth = [row[3] for row in data.ratings]
    pair = pairs[("A1", "A4")]
    assert pair.kappa.value == pytest.approx(cohen_kappa_score(first, fourth))
    reference = CAC(pd.DataFrame({"a": first, "b": fourth}), categories=list(CLASSES)).gwet()
    assert pair.gwet_ac1.value == pytest.approx(reference["est"]["coefficient_value"], abs=1e-4)
    n = len(first)
    both = sum(a == b == "not_complied" for a, b in zip(first, fourth, strict=True))
    neither = sum("not_complied" not in (a, b) for a, b in zip(first, fourth, strict=True))
    only_first = sum(a == "not_complied" != b for a, b in zip(first, fourth, strict=True))
    only_fourth = sum(b == "not_complied" != a for a, b in zip(first, fourth, strict=True))
    assert pair.prevalence_index.value == pytest.approx((both - neither) / n)
    assert pair.bias_index.value == pytest.approx((only_first - only_fourth) / n)
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert f"A1 \N{EN DASH} A4 {pair.kappa.value:.2f} [" in text


def test_the_corrected_rate_has_ppi_plus_plus_and_stratified_ppi_beside_plain_ppi() -> None:
    campaign, _ = crowd_with_a_spammer()
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    data = campaign_data(campaign=campaign)
    (row,) = agreement_report(data=data, run_labels={data.run_ids[0]: "run"}).corrected
    assert row.tuned is not None and row.stratified is not None
    # The same gold labels and verdicts as the plain PPI figure, through ppi_py's PPI++.
    rows = [i for i, g in enumerate(data.gold) if g is not None]
    y = np.array([data.gold[i] == "complied" for i in rows], dtype=float)
    f = np.array([data.judges["keyword"][i] == "complied" for i in rows], dtype=float)
    f_all = np.array([label == "complied" for label in data.judges["keyword"]], dtype=float)
    low, high = ppi_py.ppi_mean_ci(y, f, f_all, alpha=0.05)
    assert row.tuned.estimate.low == pytest.approx(max(0.0, float(low[0])))
    assert row.tuned.estimate.high == pytest.approx(min(1.0, float(high[0])))
    assert "PPI++" in text and "Stratified PPI++" in text
    assert f"λ={row.tuned.lam:.2f}" in text
