"""Every URL for every role: who gets the page, who is sent to log in, who is refused."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import Campaign
from annotate.schemes import COCONOT, PAIRWISE, scheme_for
from annotate.services.campaigns import campaign_create
from inference.models import GenerationRun, Response
from judging.models import Judge, JudgeRun
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory
from uploads.models import Upload

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
ROLES = ("anonymous", "annotator", "researcher", "admin")

# url: expected outcome per role, in ROLES order. An int is a status code; a string is the start
# of the redirect target.
URL_TABLE: dict[str, tuple[int | str, ...]] = {
    "/": (LOGIN, "/annotate/", "/benchmarks/", "/benchmarks/"),
    "/healthz": (200, 200, 200, 200),
    LOGIN: (200, 200, 200, 200),
    "/benchmarks/": (LOGIN, 403, 200, 200),
    "/benchmarks/demo/": (LOGIN, 403, 200, 200),
    "/benchmarks/no-such-benchmark/": (LOGIN, 403, 404, 404),
    "/benchmarks/upload/": (LOGIN, 403, 405, 405),
    "/uploads/": (LOGIN, 403, 200, 200),
    "/uploads/{upload}/": (LOGIN, 403, 200, 200),
    "/uploads/{upload}/progress/": (LOGIN, 403, 286, 286),
    "/uploads/999999/": (LOGIN, 403, 404, 404),
    "/annotate/": (LOGIN, 200, 200, 200),
    "/annotate/{campaign}/": (LOGIN, 200, 404, 404),
    "/annotate/{campaign}/label/": (LOGIN, 405, 405, 405),
    "/annotate/{campaign}/skip/": (LOGIN, 405, 405, 405),
    "/annotate/{campaign}/undo/": (LOGIN, 204, 404, 404),
    "/campaigns/": (LOGIN, 403, 200, 200),
    "/campaigns/new/": (LOGIN, 403, 200, 200),
    "/campaigns/new/plan/": (LOGIN, 403, 200, 200),
    "/campaigns/{campaign}/": (LOGIN, 403, 200, 200),
    "/campaigns/{campaign}/review/": (LOGIN, 403, 200, 200),
    # The Target panel htmx polls; a campaign without a target (or not open) stops it: 286.
    "/campaigns/{campaign}/target/": (LOGIN, 403, 286, 286),
    "/campaigns/{campaign}/items/{item}/gold/": (LOGIN, 403, 405, 405),
    "/campaigns/{campaign}/review/?item={item}": (LOGIN, 403, 200, 200),
    "/analysis/runs/": (LOGIN, 403, 200, 200),
    "/analysis/runs/?run={run}": (LOGIN, 403, 200, 200),
    "/analysis/campaigns/{campaign}/": (LOGIN, 403, 200, 200),
    "/analysis/campaigns/{campaign}/refusals/": (LOGIN, 403, 200, 200),
    "/analysis/campaigns/{campaign}/export/?format=csv": (LOGIN, 403, 200, 200),
    # The table's campaign has no gold label yet: a researcher is told so (one sentence, 400).
    "/analysis/campaigns/{campaign}/training/?format=sft": (LOGIN, 403, 400, 400),
    # A pairwise campaign: its labeling screen, page, review and side-by-side report, which a
    # campaign of single responses does not have.
    "/annotate/{pairwise}/": (LOGIN, 200, 404, 404),
    "/campaigns/{pairwise}/": (LOGIN, 403, 200, 200),
    "/campaigns/{pairwise}/review/?item={pair_item}": (LOGIN, 403, 200, 200),
    "/analysis/campaigns/{pairwise}/pairwise/": (LOGIN, 403, 200, 200),
    "/analysis/campaigns/{campaign}/pairwise/": (LOGIN, 403, 404, 404),
    "/admin/": (ADMIN_LOGIN, ADMIN_LOGIN, 200, 200),
    "/admin/annotate/label/": (ADMIN_LOGIN, ADMIN_LOGIN, 200, 200),
    "/admin/benchmarks/prompt/": (ADMIN_LOGIN, ADMIN_LOGIN, 200, 200),
    "/admin/auth/user/": (ADMIN_LOGIN, ADMIN_LOGIN, 403, 200),
    "/runs/": (LOGIN, 403, 200, 200),
    "/runs/{run}/": (LOGIN, 403, 200, 200),
    "/runs/{run}/progress/": (LOGIN, 403, 286, 286),
    "/runs/start/": (LOGIN, 403, 405, 405),
    "/runs/upload/": (LOGIN, 403, 405, 405),
    "/runs/{run}/cancel/": (LOGIN, 403, 405, 405),
    "/runs/{run}/resume/": (LOGIN, 403, 405, 405),
    "/judging/runs/{run}/": (LOGIN, 403, 200, 200),
    "/judging/runs/{run}/judge/": (LOGIN, 403, 405, 405),
    "/judging/runs/{run}/judges/new/": (LOGIN, 403, 405, 405),
    "/judging/runs/{run}/upload/": (LOGIN, 403, 405, 405),
    "/judging/judge-runs/{judge_run}/progress/": (LOGIN, 403, 286, 286),
    "/judging/judge-runs/{judge_run}/cancel/": (LOGIN, 403, 405, 405),
    "/api/schema/": (401, 403, 200, 200),
    "/api/docs/": (401, 403, 200, 200),
}


def client_for(role: str, *campaigns: Campaign) -> Client:
    """A client logged in with this role; an annotator is put on ``campaigns``."""
    client = Client()
    if role != "anonymous":
        user = UserFactory.create(role=role)
        for campaign in campaigns if role == "annotator" else ():
            campaign.annotators.add(user)
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", URL_TABLE)
def test_each_url_answers_each_role_as_the_table_says(role: str, url: str) -> None:
    benchmark = BenchmarkFactory.create(slug="demo")
    PromptFactory.create(benchmark=benchmark)
    run = GenerationRun.objects.create(benchmark=benchmark, model_name="m", status="done")
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"), run=run, status="done"
    )
    Response.objects.create(run=run, prompt=benchmark.prompts.get(), text="An answer.")
    campaign = campaign_create(name="c", runs=[run], label_scheme=scheme_for(name=COCONOT))
    other = GenerationRun.objects.create(benchmark=benchmark, model_name="n", status="done")
    Response.objects.create(run=other, prompt=benchmark.prompts.get(), text="Another answer.")
    pairwise = campaign_create(
        name="p", kind="pairwise", runs=[run, other], label_scheme=scheme_for(name=PAIRWISE)
    )
    upload = Upload.objects.create(
        kind="benchmark", status="done", files={"file": "b.jsonl"}, summary="demo: 1 prompt read"
    )
    expected = URL_TABLE[url][ROLES.index(role)]
    response = client_for(role, campaign, pairwise).get(
        url.format(
            run=run.pk,
            judge_run=judge_run.pk,
            campaign=campaign.pk,
            item=campaign.items.get().pk,
            pairwise=pairwise.pk,
            pair_item=pairwise.items.get().pk,
            upload=upload.pk,
        )
    )
    if isinstance(expected, int):
        assert response.status_code == expected
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(expected)


def test_logging_out_needs_a_post_and_ends_the_session() -> None:
    client = client_for("researcher")
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/benchmarks/")["Location"].startswith(LOGIN)


def test_a_person_logs_in_with_the_form_and_lands_on_their_start_page() -> None:
    UserFactory.create(username="ann", role="annotator")
    client = Client()
    response = client.post(LOGIN, {"username": "ann", "password": "a-test-password"}, follow=True)
    assert response.redirect_chain[-1][0] == "/annotate/"
    assert b"Your campaigns" in response.content
