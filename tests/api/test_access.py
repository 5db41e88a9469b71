"""Who gets what from the API: tokens and data for researchers and admins, nothing for
annotators, a 401 for anyone without credentials."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.models import GoldLabel, Label
from judging.models import Verdict
from tests.api.conftest import World
from tests.factories import PASSWORD, UserFactory
from uploads.models import Upload

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "annotator", "researcher", "admin")
READ = (401, 403, 200, 200)
# An empty POST: refused before it is read, or read and found wanting.
WRITE = (401, 403, 400, 400)

# (method, url): status per role, in ROLES order.
ENDPOINTS: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/api/"): READ,
    ("GET", "/api/benchmarks/"): READ,
    ("GET", "/api/benchmarks/{benchmark}/"): READ,
    ("GET", "/api/prompts/"): READ,
    ("GET", "/api/prompts/{prompt}/"): READ,
    ("GET", "/api/runs/"): READ,
    ("GET", "/api/runs/{run}/"): READ,
    ("GET", "/api/runs/{run}/report/"): READ,
    ("POST", "/api/runs/"): WRITE,
    ("GET", "/api/responses/"): READ,
    ("GET", "/api/responses/{response}/"): READ,
    ("GET", "/api/judges/"): READ,
    ("GET", "/api/judges/{judge}/"): READ,
    ("GET", "/api/verdicts/"): READ,
    ("GET", "/api/verdicts/{verdict}/"): READ,
    ("GET", "/api/campaigns/"): READ,
    ("GET", "/api/campaigns/{campaign}/"): READ,
    ("GET", "/api/campaigns/{campaign}/report/"): READ,
    ("POST", "/api/campaigns/"): WRITE,
    ("GET", "/api/labels/"): READ,
    ("GET", "/api/labels/{label}/"): READ,
    ("GET", "/api/gold-labels/"): READ,
    ("GET", "/api/gold-labels/{gold}/"): READ,
    ("GET", "/api/uploads/"): READ,
    ("GET", "/api/uploads/{upload}/"): READ,
    ("POST", "/api/uploads/benchmark/"): WRITE,
    ("POST", "/api/uploads/responses/"): WRITE,
    ("POST", "/api/uploads/verdicts/"): WRITE,
    ("GET", "/api/schema/?format=json"): READ,
    # Anyone may ask for a token; an empty form is a 400 before anyone's role is looked at.
    ("POST", "/api/token/"): (400, 400, 400, 400),
    # Revoking one's own token needs a token, and only that (an annotator's, if one had any).
    ("DELETE", "/api/token/"): (401, 204, 204, 204),
    # A path under /api/ that no endpoint has: a JSON 404, once the caller may know that.
    ("GET", "/api/no-such-endpoint/"): (401, 403, 404, 404),
    ("GET", "/api/benchmarks/not.a.slug/"): (401, 403, 404, 404),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=" ".join)
def test_each_endpoint_answers_each_role_as_the_table_says(
    endpoint: tuple[str, str], role: str, world: World, client_for: Callable[[str], APIClient]
) -> None:
    method, url = endpoint
    url = url.format(
        benchmark=world.benchmark.slug,
        prompt=world.run.responses.first().prompt_id,  # type: ignore[union-attr]
        run=world.run.pk,
        response=world.run.responses.first().pk,  # type: ignore[union-attr]
        judge=world.judge_run.judge_id,
        verdict=Verdict.objects.first().pk,  # type: ignore[union-attr]
        campaign=world.campaign.pk,
        label=Label.objects.first().pk,  # type: ignore[union-attr]
        gold=GoldLabel.objects.first().pk,  # type: ignore[union-attr]
        upload=Upload.objects.create(kind="benchmark", files={"file": "b.jsonl"}).pk,
    )
    client = client_for(role)
    if method == "POST":
        response = client.post(url, {}, format="json")
    else:
        response = client.generic(method, url)
    assert response.status_code == ENDPOINTS[endpoint][ROLES.index(role)]
    if role == "annotator" and response.status_code == 403:
        assert response.json() == {"detail": "The API is for researchers and admins."}


def test_an_annotator_logged_in_in_the_browser_gets_nothing_from_the_api(world: World) -> None:
    client = Client()
    client.force_login(world.people[0])
    assert client.get("/api/labels/").status_code == 403
    assert client.get(f"/api/campaigns/{world.campaign.pk}/").status_code == 403


def test_a_researcher_logged_in_in_the_browser_reads_the_api_too(world: World) -> None:
    client = Client()
    client.force_login(world.researcher)
    assert client.get("/api/benchmarks/", HTTP_ACCEPT="application/json").status_code == 200


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_researchers_and_admins_get_a_token_that_opens_the_api(role: str) -> None:
    user = UserFactory.create(role=role)
    response = APIClient().post(
        "/api/token/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=user).key == key
    again = APIClient().post("/api/token/", {"username": user.username, "password": PASSWORD})
    assert again.json()["token"] == key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/benchmarks/").status_code == 200


def test_an_annotator_with_the_right_password_gets_no_token() -> None:
    annotator = UserFactory.create(role="annotator")
    response = APIClient().post(
        "/api/token/", {"username": annotator.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "API tokens are for researchers and admins."}
    assert not Token.objects.filter(user=annotator).exists()


def test_a_researcher_revokes_their_token_and_it_stops_working() -> None:
    researcher = UserFactory.create(role="researcher")
    key = Token.objects.create(user=researcher).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete("/api/token/").status_code == 204
    assert client.get("/api/benchmarks/").status_code == 401
    assert not Token.objects.filter(user=researcher).exists()
    assert APIClient().delete("/api/token/").status_code == 401  # nothing to revoke without one


def test_password_guessing_is_slowed_down_with_a_clear_answer() -> None:
    researcher = UserFactory.create(role="researcher")
    guess = {"username": researcher.username, "password": "guess"}
    answers = [APIClient().post("/api/token/", guess, format="json") for _ in range(11)]
    # The tenth failure locks the username out (django-axes, AXES_FAILURE_LIMIT); the eleventh
    # try in the minute is throttled before any password is looked at.
    assert [a.status_code for a in answers] == [400] * 9 + [429] * 2
    assert "Too many failed logins" in answers[-2].json()["detail"]
    assert "Request was throttled" in answers[-1].json()["detail"]
    assert int(answers[-1].headers["Retry-After"]) > 0
    right = {"username": researcher.username, "password": PASSWORD}
    assert APIClient().post("/api/token/", right, format="json").status_code == 429


def test_a_wrong_password_gets_no_token() -> None:
    researcher = UserFactory.create(role="researcher")
    response = APIClient().post(
        "/api/token/", {"username": researcher.username, "password": "not it"}, format="json"
    )
    assert response.status_code == 400
    assert not Token.objects.exists()


def test_a_deactivated_researchers_token_stops_working(world: World) -> None:
    token = Token.objects.create(user=world.researcher)
    world.researcher.is_active = False
    world.researcher.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/benchmarks/").status_code == 401


def test_a_made_up_token_is_refused(world: World) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = client.get("/api/benchmarks/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
