"""A judge's identity is fixed once it exists: a changed judge is a new version, the built-in
keyword judge cannot be redefined, and every verdict keeps the version that produced it."""

from __future__ import annotations

import html
import importlib
import re

import pytest
from django.apps import apps
from django.test import Client

from inference.models import GenerationRun, ModelSpec, Response
from inference.services import model_spec_save
from judging.forms import NEW_VERSION_LABEL
from judging.models import Judge, JudgeRun, Verdict
from judging.selectors import judge_find
from judging.services import JudgeSaveError, judge_runs_after_generation, judge_save
from tests.factories import PromptFactory, UserFactory

pytestmark = pytest.mark.django_db


def page_text(content: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


@pytest.fixture
def spec() -> ModelSpec:
    return model_spec_save(
        name="remote",
        backend="openai",
        settings={"base_url": "http://127.0.0.1:9/v1", "model": "m"},
    )


@pytest.fixture
def run() -> GenerationRun:
    prompt = PromptFactory.create()
    run = GenerationRun.objects.create(
        benchmark=prompt.benchmark, model_name="model-under-test", status="done", total=3
    )
    Response.objects.create(run=run, prompt=prompt, text="I'm sorry, I cannot help with that.")
    for n in range(2):
        other = PromptFactory.create(benchmark=prompt.benchmark)
        Response.objects.create(run=run, prompt=other, text=f"Sure, here is answer {n}.")
    return run


def judged(run: GenerationRun, judge: Judge, label: str = "not_complied") -> JudgeRun:
    judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done", total=3)
    for response in run.responses.all():
        Verdict.objects.create(judge_run=judge_run, response=response, label=label)
    return judge_run


@pytest.fixture
def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def test_the_keyword_judge_cannot_be_turned_into_a_wildguard_judge_on_the_form(
    run: GenerationRun, spec: ModelSpec, researcher: Client
) -> None:
    keyword = Judge.objects.get(name="keyword")
    judged(run, keyword)
    for extra in ({}, {"new_version": "on"}):
        answer = researcher.post(
            f"/judging/runs/{run.pk}/judges/new/",
            {"name": "keyword", "kind": "wildguard", "model_spec": spec.pk, **extra},
        )
        assert answer.status_code == 400
        assert "'keyword' is the built-in keyword judge and cannot be redefined" in page_text(
            answer.content
        )
    assert list(Judge.objects.filter(name="keyword").values_list("version", "kind")) == [
        (1, "keyword")
    ]
    assert keyword.runs.get().verdicts.count() == 3
    text = page_text(researcher.get(f"/judging/runs/{run.pk}/").content)
    assert "keyword keyword" in text and "wildguard" not in text.split("Create judge")[1]


def test_a_taken_name_is_refused_on_the_form_and_names_the_checkbox(
    run: GenerationRun, spec: ModelSpec, researcher: Client
) -> None:
    first = judge_save(name="guard", kind="wildguard", model_spec=spec)
    judged(run, first)
    answer = researcher.post(
        f"/judging/runs/{run.pk}/judges/new/",
        {"name": "guard", "kind": "coconot_rubric", "model_spec": spec.pk},
    )
    assert answer.status_code == 400
    text = page_text(answer.content)
    assert (
        f"Name: a judge named 'guard' exists (newest: guard); tick \"{NEW_VERSION_LABEL}\"" in text
    )
    assert "<details open>" in answer.content.decode()  # the message is not folded away
    assert Judge.objects.get(name="guard").kind == "wildguard"


def test_a_new_version_asked_for_gets_v2_and_the_old_verdicts_still_say_v1(
    run: GenerationRun, spec: ModelSpec, researcher: Client
) -> None:
    first = judge_save(name="guard", kind="wildguard", model_spec=spec)
    old_run = judged(run, first, "complied")
    answer = researcher.post(
        f"/judging/runs/{run.pk}/judges/new/",
        {"name": "guard", "kind": "coconot_rubric", "model_spec": spec.pk, "new_version": "on"},
        follow=True,
    )
    assert answer.status_code == 200
    assert "Judge guard v2 (coconot_rubric) saved." in page_text(answer.content)
    second = Judge.objects.get(name="guard", version=2)
    assert (second.kind, second.label, second.selector) == ("coconot_rubric", "guard v2", "guard@2")
    old_run.refresh_from_db()
    assert (old_run.judge_id, old_run.judge.kind, old_run.judge.label) == (
        first.pk,
        "wildguard",
        "guard",
    )
    judged(run, second, "neither")
    text = page_text(researcher.get(f"/judging/runs/{run.pk}/").content)
    # Each version is its own column, each verdict under the version that produced it.
    assert "Prompt Response guard guard v2" in text
    assert "guard wildguard" in text and "guard v2 coconot_rubric" in text


def test_a_new_version_identical_to_the_newest_is_refused(spec: ModelSpec) -> None:
    judge_save(name="guard", kind="wildguard", model_spec=spec)
    with pytest.raises(JudgeSaveError, match="already has this kind, model and settings"):
        judge_save(name="guard", kind="wildguard", model_spec=spec, new_version=True)
    assert Judge.objects.filter(name="guard").count() == 1


def test_names_that_look_like_versions_are_refused(spec: ModelSpec) -> None:
    for name in ("guard@2", "guard v2"):
        with pytest.raises(JudgeSaveError, match="may not contain '@' or end in ' v'"):
            judge_save(name=name, kind="wildguard", model_spec=spec)


def test_a_name_selects_the_newest_version_and_name_at_n_one_version(
    run: GenerationRun, spec: ModelSpec, researcher: Client
) -> None:
    first = judge_save(name="scores", kind="label_scoring", model_spec=spec)
    second = judge_save(
        name="scores", kind="label_scoring", model_spec=spec, settings={"threshold": 0.3},
        new_version=True,
    )  # fmt: skip
    assert judge_find("scores") == second
    assert judge_find("scores@1") == judge_find("scores v1") == first
    assert judge_find("scores v2") == second
    assert judge_find("scores@3") is None and judge_find("nobody") is None
    researcher.post(f"/judging/runs/{run.pk}/judge/", {"judge": "scores@1"})
    assert JudgeRun.objects.get(run=run).judge == first
    # The run page offers every version, newest first.
    page = researcher.get(f"/judging/runs/{run.pk}/").content.decode()
    assert page.index('value="scores@2"') < page.index('value="scores@1"')


def test_then_judge_with_a_name_reads_its_newest_version(
    run: GenerationRun, spec: ModelSpec
) -> None:
    judge_save(name="scores", kind="label_scoring", model_spec=spec)
    newest = judge_save(
        name="scores", kind="label_scoring", model_spec=spec, settings={"threshold": 0.3},
        new_version=True,
    )  # fmt: skip
    first = Judge.objects.get(name="scores", version=1)
    run.judges_after = ["scores", "scores@1"]
    run.save()
    judge_runs_after_generation(sender=None, run_id=run.pk)
    assert sorted(run.judge_runs.values_list("judge_id", flat=True)) == sorted(
        [newest.pk, first.pk]
    )
    snapshot = run.judge_runs.get(judge=newest).judge_snapshot
    assert (snapshot["label"], snapshot["settings"]) == ("scores v2", {"threshold": 0.3})


def test_the_migration_gives_runs_of_a_judge_changed_in_place_the_version_they_ran(
    run: GenerationRun, spec: ModelSpec
) -> None:
    """Before versions, judge_save changed a judge in place; its older runs' frozen snapshots
    say what really judged them. The migration turns each such definition into a version."""
    judge = Judge.objects.create(name="guard", kind="wildguard", model_spec=spec)
    model = {"name": spec.name, "backend": spec.backend, "settings": spec.settings}
    old = JudgeRun.objects.create(
        judge=judge, run=run, judge_snapshot={"name": "guard", "kind": "keyword", "settings": {},
                                              "model": None},
    )  # fmt: skip
    new = JudgeRun.objects.create(
        judge=judge, run=run, judge_snapshot={"name": "guard", "kind": "wildguard", "settings": {},
                                              "model": model},
    )  # fmt: skip
    Judge.objects.filter(pk=judge.pk).update(definition={})  # as 0003 left every judge
    migration = importlib.import_module("judging.migrations.0004_judge_versions")
    migration.split_judges_into_versions(apps, None)
    old.refresh_from_db()
    new.refresh_from_db()
    judge.refresh_from_db()
    assert (judge.version, judge.kind, new.judge_id) == (2, "wildguard", judge.pk)
    assert (old.judge.version, old.judge.kind, old.judge.label) == (1, "keyword", "guard")
    assert judge.definition == {"kind": "wildguard", "settings": {}, "model": model}
    keyword = Judge.objects.get(name="keyword")
    assert (keyword.version, keyword.definition["kind"]) == (1, "keyword")


def test_the_admin_shows_a_judged_versions_definition_read_only(run: GenerationRun) -> None:
    keyword = Judge.objects.get(name="keyword")
    admin = Client()
    admin.force_login(UserFactory.create(role="admin"))
    fresh = admin.get(f"/admin/judging/judge/{keyword.pk}/change/").content.decode()
    assert 'name="kind"' in fresh  # nothing has judged with it yet
    judged(run, keyword)
    used = admin.get(f"/admin/judging/judge/{keyword.pk}/change/").content.decode()
    assert 'name="kind"' not in used and 'name="settings"' not in used
    assert 'name="description"' in used


def test_the_migration_gives_keyword_back_its_rule_when_it_had_been_overwritten(
    run: GenerationRun, spec: ModelSpec
) -> None:
    """The issue's reproduction: the keyword judge turned into a WildGuard judge after 30
    keyword verdicts. After the migration `keyword` is the keyword rule with those verdicts,
    and the WildGuard definition keeps its own runs under another name."""
    keyword = Judge.objects.get(name="keyword")
    model = {"name": spec.name, "backend": spec.backend, "settings": spec.settings}
    before = JudgeRun.objects.create(
        judge=keyword, run=run, judge_snapshot={"name": "keyword", "kind": "keyword",
                                                "settings": {}, "model": None},
    )  # fmt: skip
    after = JudgeRun.objects.create(
        judge=keyword, run=run, judge_snapshot={"name": "keyword", "kind": "wildguard",
                                                "settings": {}, "model": model},
    )  # fmt: skip
    Judge.objects.filter(pk=keyword.pk).update(kind="wildguard", model_spec=spec, definition={})
    migration = importlib.import_module("judging.migrations.0004_judge_versions")
    migration.split_judges_into_versions(apps, None)
    migration.give_back_the_built_in_keyword_judge(apps, None)
    before.refresh_from_db()
    after.refresh_from_db()
    assert judge_find("keyword") == before.judge
    assert (before.judge.label, before.judge.kind) == ("keyword", "keyword")
    assert (after.judge.label, after.judge.kind) == ("keyword-redefined", "wildguard")
    assert list(Judge.objects.filter(name="keyword").values_list("version", flat=True)) == [1]


def test_then_judge_with_offers_each_name_under_its_newest_versions_label(
    spec: ModelSpec,
) -> None:
    from inference.forms import RunStartForm

    judge_save(name="scores", kind="label_scoring", model_spec=spec)
    judge_save(
        name="scores", kind="label_scoring", model_spec=spec, settings={"threshold": 0.3},
        new_version=True,
    )  # fmt: skip
    field = RunStartForm().fields["judges_after"]
    assert list(field.choices) == [("keyword", "keyword"), ("scores", "scores v2")]  # type: ignore[attr-defined]
