"""Reports, exports and the API say which version of a judge produced each figure, and the
agreement report puts a judge's versions side by side on the same gold items."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Sequence

import pytest
from django.test import Client
from sklearn.metrics import cohen_kappa_score

from analysis.exports import gold_export, write_csv
from annotate.models import Campaign
from annotate.services.gold import gold_set
from inference.models import GenerationRun
from judging.models import Judge, JudgeRun, Verdict
from judging.services import judge_save
from tests.annotate.builders import (
    annotators,
    by_response,
    campaign_over,
    label_all,
    run_with_responses,
)
from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def page_text(content: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def judge_all(run: GenerationRun, judge: Judge, labels: Sequence[str | None]) -> None:
    """Verdicts in response order; None leaves that response unjudged by this judge."""
    judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done")
    Verdict.objects.bulk_create(
        Verdict(judge_run=judge_run, response=response, label=label)
        for response, label in zip(run.responses.order_by("pk"), labels, strict=True)
        if label is not None
    )


def two_versions() -> tuple[Judge, Judge]:
    first = judge_save(name="kw", kind="keyword", settings={"keywords": ["sorry"]})
    second = judge_save(
        name="kw", kind="keyword", settings={"keywords": ["sorry", "cannot"]}, new_version=True
    )
    return first, second


def labelled_campaign(gold: list[str]) -> tuple[Campaign, GenerationRun]:
    people = annotators(2)
    run = run_with_responses(len(gold))
    campaign = campaign_over(run, people=people, overlap=2)
    for person in people:
        label_all(campaign, person, by_response(run, gold))
    boss = UserFactory.create(role="researcher")
    for item in campaign.items.filter(gold__isnull=True):
        gold_set(item=item, value="complied", reason="settled", user=boss)
    return campaign, run


def test_the_run_report_names_each_version_in_its_column_header() -> None:
    first, second = two_versions()
    run = run_with_responses(4)
    judge_all(run, first, ["complied"] * 4)
    judge_all(run, second, ["not_complied"] * 4)
    text = page_text(researcher().get(f"/analysis/runs/?run={run.pk}").content)
    assert f"kw · run #{run.pk}" in text and f"kw v2 · run #{run.pk}" in text


def test_the_agreement_report_shows_a_judges_versions_side_by_side_on_common_items() -> None:
    gold = ["complied", "not_complied"] * 15
    campaign, run = labelled_campaign(gold)
    first, second = two_versions()
    old = [g if i % 3 else "neither" for i, g in enumerate(gold)]  # wrong on every third
    new: list[str | None] = [g if i % 7 else "complied" for i, g in enumerate(gold)]
    new[1] = new[2] = None  # v2 has not judged two items: they are left out for both versions
    judge_all(run, first, old)
    judge_all(run, second, new)
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert "Versions of kw, side by side" in text
    assert "Each version on the same 28 gold items" in text
    common = [i for i in range(30) if new[i] is not None]
    for label, verdicts in (("kw", old), ("kw v2", new)):
        kappa = cohen_kappa_score([gold[i] for i in common], [verdicts[i] for i in common])
        assert re.search(rf"{re.escape(label)} {kappa:.2f} \[[-0-9.]+, [-0-9.]+\]", text), label
    section = text.split("side by side")[1].split("Cohen's kappa per category")[0]
    assert section.count("] 28") == 2  # each version's row ends with its n
    report = token_client(UserFactory.create(role="researcher")).get(
        f"/api/campaigns/{campaign.pk}/report/"
    )
    versions = report.json()["judge_versions"]
    assert [v["name"] for v in versions] == ["kw"]
    assert [label for label, _ in versions[0]["versions"]] == ["kw", "kw v2"]
    assert versions[0]["items"] == 28


def test_the_export_has_a_version_column_beside_each_judge_column() -> None:
    gold = ["complied", "not_complied"] * 5
    campaign, run = labelled_campaign(gold)
    first, second = two_versions()
    judge_all(run, first, gold)
    judge_all(run, second, gold)
    export = gold_export(campaign=campaign)
    out = io.StringIO(newline="")
    write_csv(export.rows(), out, export.annotators, export.judges)
    records = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    header = list(records[0])
    position = header.index("judge_kw")
    assert header[position : position + 4] == [
        "judge_kw",
        "judge_kw_version",
        "judge_kw v2",
        "judge_kw v2_version",
    ]
    assert {(r["judge_kw_version"], r["judge_kw v2_version"]) for r in records} == {("1", "2")}
    assert next(export.rows())["judge_versions"] == {"kw": 1, "kw v2": 2}


def test_api_rows_say_which_version_produced_each_verdict() -> None:
    first, second = two_versions()
    run = run_with_responses(2)
    judge_all(run, first, ["complied"] * 2)
    judge_all(run, second, ["not_complied"] * 2)
    api = token_client(UserFactory.create(role="researcher"))
    rows = api.get("/api/verdicts/", {"run": run.pk}).json()["results"]
    assert sorted(
        {(r["judge"], r["judge_version"], r["judge_label"], r["label"]) for r in rows}
    ) == [
        ("kw", 1, "kw", "complied"),
        ("kw", 2, "kw v2", "not_complied"),
    ]
    # A name selects its newest version; NAME@N one version.
    newest = api.get("/api/verdicts/", {"judge": "kw"}).json()["results"]
    assert {r["judge_label"] for r in newest} == {"kw v2"}
    oldest = api.get("/api/verdicts/", {"judge": "kw@1"}).json()["results"]
    assert {r["judge_label"] for r in oldest} == {"kw"}
    judges = api.get("/api/judges/").json()["results"]
    assert [
        (j["name"], j["version"], j["label"], j["selector"]) for j in judges if j["name"] == "kw"
    ] == [
        ("kw", 1, "kw", "kw@1"),
        ("kw", 2, "kw v2", "kw@2"),
    ]


def test_the_api_refuses_a_taken_name_unless_a_new_version_is_asked_for() -> None:
    api = token_client(UserFactory.create(role="researcher"))
    body = {"name": "kw", "kind": "keyword", "settings": {"keywords": ["sorry"]}}
    assert api.post("/api/judges/", body, format="json").status_code == 201
    again = api.post("/api/judges/", body | {"settings": {"keywords": ["no"]}}, format="json")
    assert again.status_code == 400
    assert again.json() == {
        "name": [
            "Name: a judge named 'kw' exists (newest: kw); send \"new_version\": true to make "
            "kw v2, or choose another name."
        ]
    }
    made = api.post(
        "/api/judges/",
        body | {"settings": {"keywords": ["no"]}, "new_version": True},
        format="json",
    )
    assert made.status_code == 201
    assert (made.json()["label"], made.json()["version"]) == ("kw v2", 2)
    keyword = api.post(
        "/api/judges/", {"name": "keyword", "kind": "keyword", "new_version": True}, format="json"
    )
    assert keyword.status_code == 400
    assert "cannot be redefined" in keyword.json()["name"][0]
    assert Judge.objects.filter(name="keyword").count() == 1
