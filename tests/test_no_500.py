"""No input is a server error, and a refused request writes nothing.

Hypothesis throws arbitrary JSON bodies at every API write endpoint and arbitrary form fields
at every HTML form that writes (campaign, run, judge, judge run, gold label, label, skip,
login), mixing real ids and names with hostile values: NUL characters, lone surrogates,
integers past 32 and 64 bits, deep nesting, "$...$". Every answer must be below 500, and
every 4xx must leave each table's row count as it was. Named cases from issue 11 follow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from accounts.numbers import MAX_INT
from annotate.models import Assignment, Campaign, GoldLabel, Item, Label, LabelRevision
from benchmarks.models import Benchmark, Prompt, Rubric
from inference.models import GenerationRun, ModelSpec, Response
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COUNTED = (
    User, Token, Benchmark, Prompt, Rubric, ModelSpec, GenerationRun, Response, Judge, JudgeRun,
    Verdict, Campaign, Item, Assignment, Label, LabelRevision, GoldLabel,
)  # fmt: skip
PASSWORD = "a-long-test-password"


@dataclass
class World:
    researcher: User
    annotator: User
    run: GenerationRun
    judge_run: JudgeRun
    campaign: Campaign
    item: Item
    assignment: Assignment
    spec: ModelSpec


@pytest.fixture(autouse=True)
def quiet_world(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()  # throttle and lock-out counts start afresh
    from runs import chunks

    monkeypatch.setattr(chunks, "ring", lambda queue, **kwargs: None)  # no broker here


@pytest.fixture
def world() -> World:
    researcher = UserFactory.create(role="researcher", password=PASSWORD)
    annotator = annotators(1)[0]
    run = run_with_responses(4)
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.order_by("pk")[0], run=run, status="done", total=4
    )
    campaign = campaign_over(run, people=[annotator], overlap=1)
    from annotate.services.serving import assignment_next

    assignment = assignment_next(campaign=campaign, user=annotator)
    assert assignment is not None
    spec = ModelSpec.objects.create(
        name="remote",
        backend="openai",
        settings={"base_url": "http://127.0.0.1:9/v1", "model": "m"},
    )
    return World(researcher, annotator, run, judge_run, campaign, assignment.item, assignment, spec)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


# --- What to throw ---------------------------------------------------------------------------

HOSTILE_TEXT = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "$\\notacommand$", "price $5 to $10",
    "<script>alert(1)</script>", "' OR 1=1 --", "1", "0", "-1", "1.5", "\u0661", "\u00b2",
    str(MAX_INT), str(MAX_INT + 1), str(2**63), str(2**64), "9" * 40, "null", "[]", "{}",
    "x" * 300, "complied", "custom", "coconot", "random", "keyword", "openai",
    "label_scoring", "NaN", "Infinity",
]  # fmt: skip
HOSTILE_INTS = [0, -1, 1, MAX_INT, MAX_INT + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]


def texts(real: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT + real),
        st.text(max_size=12),
        st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Lo"]), max_size=6),
    )


def json_values(real: list[str]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers() | st.sampled_from(HOSTILE_INTS),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(real),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts(real), inner, max_size=3),
        max_leaves=8,
    )


def json_body(fields: list[str], real: list[str]) -> st.SearchStrategy[str]:
    """Mostly objects with the endpoint's own field names; sometimes any JSON, sometimes
    nesting far past the parser's limit, sometimes not JSON at all."""
    objects = st.dictionaries(st.sampled_from(fields) | texts(real), json_values(real), max_size=6)
    return st.one_of(
        objects.map(json.dumps),
        json_values(real).map(json.dumps),
        st.integers(33, 5000).map(lambda depth: "[" * depth + "]" * depth),
        st.sampled_from(['{"a": NaN}', "[Infinity]", "{", "", "\ufeff{}", '{"a": 1}}']),
    )


def form_fields(fields: list[str], real: list[str]) -> st.SearchStrategy[dict[str, list[str]]]:
    return st.dictionaries(
        st.sampled_from(fields) | texts(real),
        st.lists(texts(real), min_size=1, max_size=3),
        max_size=len(fields) + 2,
    )


# --- Where to throw it -------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {run}, {campaign}, {item}, {judge_run}
    fields: list[str]
    who: str  # anonymous, researcher, annotator, token (the researcher's API token)
    kind: str = "form"  # or json


CAMPAIGN_FIELDS = [
    "name", "description", "runs", "categories", "subcategories", "sampling", "sample_size",
    "sampling_judges", "seed", "overlap", "scheme", "custom_scheme", "guidelines",
    "show_model_name", "annotators", "reservation_minutes", "exclude_truncated", "pilot",
    "active_uniform_share",
]  # fmt: skip
PLAN_FIELDS = [
    "plan_judge", "plan_target", "plan_population", "plan_accuracy", "plan_seconds", "plan",
]  # fmt: skip
RUN_FIELDS = ["benchmark", "model_spec", "categories", "limit", "judges_after"]
JUDGE_FIELDS = ["name", "kind", "model_spec", "threshold", "new_version", "settings"]
LABEL_FIELDS = ["assignment", "item", "value", "note", "time_spent_ms", "on_screen", "ticket"]
LOGIN_FIELDS = ["username", "password"]
QUALITY_FIELDS = [
    "check_every", "attention_text", "min_seconds", "pause_below", "pause_after", "max_overlap",
]  # fmt: skip

ENDPOINTS = {
    "api token": Endpoint("POST", "/api/token/", LOGIN_FIELDS, "anonymous", "json"),
    "api token revoke": Endpoint("DELETE", "/api/token/", [], "token", "json"),
    "api run": Endpoint("POST", "/api/runs/", RUN_FIELDS, "token", "json"),
    "api campaign": Endpoint("POST", "/api/campaigns/", CAMPAIGN_FIELDS, "token", "json"),
    "api judge": Endpoint("POST", "/api/judges/", JUDGE_FIELDS, "token", "json"),
    "api patch": Endpoint("PATCH", "/api/campaigns/{campaign}/", CAMPAIGN_FIELDS, "token", "json"),
    "api delete": Endpoint("DELETE", "/api/campaigns/{campaign}/", [], "token", "json"),
    "login": Endpoint("POST", "/accounts/login/", LOGIN_FIELDS, "anonymous"),
    "campaign form": Endpoint(
        "POST", "/campaigns/new/", [*CAMPAIGN_FIELDS, "refresh"], "researcher"
    ),
    "campaign planner": Endpoint(
        "POST", "/campaigns/new/", [*CAMPAIGN_FIELDS, *PLAN_FIELDS], "researcher"
    ),
    "campaign status": Endpoint("POST", "/campaigns/{campaign}/status/", ["status"], "researcher"),
    "gold label": Endpoint(
        "POST",
        "/campaigns/{campaign}/items/{item}/gold/",
        ["value", "reason", "next"],
        "researcher",
    ),
    "annotator standing": Endpoint(
        "POST",
        "/campaigns/{campaign}/annotators/{annotator}/standing/",
        ["action", "next"],
        "researcher",
    ),
    "quality settings": Endpoint(
        "POST", "/campaigns/{campaign}/checks/settings/", QUALITY_FIELDS, "researcher"
    ),
    "gold checks": Endpoint(
        "POST",
        "/campaigns/{campaign}/checks/gold/",
        ["source", "count", "adjudicated_only", "seed"],
        "researcher",
    ),
    "attention checks": Endpoint(
        "POST", "/campaigns/{campaign}/checks/attention/", ["count", "seed"], "researcher"
    ),
    "written checks": Endpoint(
        "POST", "/campaigns/{campaign}/checks/written/", ["text"], "researcher"
    ),
    "run form": Endpoint("POST", "/runs/start/", RUN_FIELDS, "researcher"),
    "run cancel": Endpoint("POST", "/runs/{run}/cancel/", [], "researcher"),
    "run resume": Endpoint("POST", "/runs/{run}/resume/", [], "researcher"),
    "judge form": Endpoint("POST", "/judging/runs/{run}/judges/new/", JUDGE_FIELDS, "researcher"),
    "judge run form": Endpoint("POST", "/judging/runs/{run}/judge/", ["judge"], "researcher"),
    "judge run cancel": Endpoint(
        "POST", "/judging/judge-runs/{judge_run}/cancel/", [], "researcher"
    ),
    "judge run resume": Endpoint(
        "POST", "/judging/judge-runs/{judge_run}/resume/", [], "researcher"
    ),
    "label": Endpoint("POST", "/annotate/{campaign}/label/", LABEL_FIELDS, "annotator"),
    "skip": Endpoint(
        "POST", "/annotate/{campaign}/skip/", ["assignment", "on_screen"], "annotator"
    ),
}


def path_of(endpoint: Endpoint, world: World) -> str:
    return endpoint.path.format(
        run=world.run.pk,
        campaign=world.campaign.pk,
        item=world.item.pk,
        judge_run=world.judge_run.pk,
        annotator=world.annotator.pk,
    )


def real_values(world: World) -> list[str]:
    """Ids and names that exist, so that examples also get past the first check."""
    return [
        str(world.run.pk), str(world.campaign.pk), str(world.item.pk), str(world.assignment.pk),
        world.run.benchmark.slug, world.spec.name, world.annotator.username,
        world.researcher.username, PASSWORD, "keyword",
    ]  # fmt: skip


def client_for(world: World, who: str) -> Client:
    client = Client()
    if who == "researcher":
        client.force_login(world.researcher)
    elif who == "annotator":
        client.force_login(world.annotator)
    elif who == "token":
        token, _ = Token.objects.get_or_create(user=world.researcher)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


def send(client: Client, endpoint: Endpoint, path: str, payload: Any) -> Any:
    if endpoint.kind == "json":
        return client.generic(endpoint.method, path, payload.encode("utf-8", "surrogatepass"),
                              content_type="application/json")  # fmt: skip
    # Encoded as a client would send it: a lone surrogate becomes the bytes %ED%A0%80.
    body = urlencode(payload, doseq=True, encoding="utf-8", errors="surrogatepass")
    return client.post(path, body, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("name", list(ENDPOINTS))
@settings(
    max_examples=20,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout; a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_is_a_server_error_or_a_partial_write(
    name: str, world: World, data: st.DataObject
) -> None:
    endpoint = ENDPOINTS[name]
    real = real_values(world)
    strategy = (
        json_body(endpoint.fields or ["x"], real)
        if endpoint.kind == "json"
        else form_fields(endpoint.fields or ["x"], real)
    )
    payload = data.draw(strategy, label="payload")
    client = client_for(world, endpoint.who)
    before = row_counts()
    response = send(client, endpoint, path_of(endpoint, world), payload)
    assert response.status_code < 500, response.content[:300]
    if 400 <= response.status_code < 500:
        assert row_counts() == before, (response.status_code, response.content[:300])
    if name == "api token revoke":
        Token.objects.filter(user=world.researcher).delete()  # next example: a fresh token


# --- The cases issue 11 names, through the HTML forms ---------------------------------------


def test_a_nul_in_a_label_note_is_a_400_and_stores_nothing(world: World) -> None:
    client = client_for(world, "annotator")
    form = {
        "assignment": world.assignment.pk,
        "item": world.item.pk,
        "value": "complied",
        "note": "see %00 here\x00",
    }
    answer = client.post(f"/annotate/{world.campaign.pk}/label/", form)
    assert answer.status_code == 400
    assert answer.content.decode() == (
        "The field 'note' contains a NUL character (\\u0000), which cannot be stored."
    )
    assert not Label.objects.exists()


def test_a_custom_scheme_with_an_escaped_nul_in_the_campaign_form_is_refused(
    world: World,
) -> None:
    scheme = '{"name": "n\\u0000", "choices": [{"value": "a"}, {"value": "b"}]}'
    form = {
        "name": "Scheme", "runs": [world.run.pk], "sampling": "all", "seed": 0, "overlap": 1,
        "scheme": "custom", "custom_scheme": scheme, "reservation_minutes": 30,
    }  # fmt: skip
    answer = client_for(world, "researcher").post("/campaigns/new/", form)
    assert answer.status_code == 400
    assert "The field &#x27;name&#x27; contains a NUL character" in answer.content.decode()
    assert not Campaign.objects.filter(name="Scheme").exists()


@pytest.mark.parametrize("field", ["seed", "sample_size"])
def test_campaign_form_integers_above_the_column_are_refused(world: World, field: str) -> None:
    form = {
        "name": "Big", "runs": [world.run.pk], "sampling": "random", "sample_size": 1, "seed": 0,
        "overlap": 1, "scheme": "coconot", "reservation_minutes": 30,
    } | {field: str(MAX_INT + 1)}  # fmt: skip
    answer = client_for(world, "researcher").post("/campaigns/new/", form)
    assert answer.status_code == 400
    assert f"Ensure this value is less than or equal to {MAX_INT}." in answer.content.decode()
    assert not Campaign.objects.filter(name="Big").exists()


def test_run_form_limit_above_the_column_is_refused(world: World) -> None:
    before = GenerationRun.objects.count()
    form = {"benchmark": world.run.benchmark.slug, "model_spec": world.spec.pk, "limit": 2**31}
    answer = client_for(world, "researcher").post("/runs/start/", form)
    assert answer.status_code == 400
    assert answer.context["form"].errors["limit"] == [
        f"Ensure this value is less than or equal to {MAX_INT}."
    ]
    assert GenerationRun.objects.count() == before


def test_a_nul_in_a_model_choice_is_a_400_not_a_database_error(world: World) -> None:
    form = {"benchmark": "x\x00", "model_spec": world.spec.pk}
    answer = client_for(world, "researcher").post("/runs/start/", form)
    assert answer.status_code == 400
    assert "The field 'benchmark' contains a NUL character" in answer.content.decode()


@pytest.mark.parametrize(
    ("settings_text", "sentence"),
    [
        ('{"path": "m\\u0000"}', "The field &#x27;path&#x27; contains a NUL character"),
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "JSON nested deeper than 32 levels."),
        ('{"temperature": NaN}', "NaN and Infinity are not JSON values"),
    ],
)
def test_json_typed_into_the_admin_meets_the_same_limits(
    world: World, settings_text: str, sentence: str
) -> None:
    before = ModelSpec.objects.count()
    form = {"name": "typed", "backend": "openai", "settings": settings_text, "description": ""}
    answer = client_for(world, "researcher").post("/admin/inference/modelspec/add/", form)
    assert answer.status_code == 200  # the form again, with the error
    assert sentence in answer.content.decode()
    assert ModelSpec.objects.count() == before


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[[1], {}]", 2),
        ('["[[[[", "\\"[["]', 1),  # brackets inside strings, escaped quotes included
        ('{"a": {"b": [{"c": "]]]"}]}}', 4),
        ("[" * 40 + "]" * 40, 40),
    ],
)
def test_json_depth_counts_nesting_not_brackets_in_strings(text: str, depth: int) -> None:
    from accounts.validation import json_depth

    assert json_depth(text) == depth
    assert json.loads(text) is not None or depth == 0


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_failed_login_with_a_username_longer_than_any_column_is_counted_not_a_500(
    world: World, path: str
) -> None:
    from axes.models import AccessAttempt

    name = "x" * 300
    answer = Client().post(path, {"username": name, "password": "wrong"})
    assert answer.status_code == 200  # the form again, saying the login failed
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.username == name[:255] and attempt.failures_since_start == 1
