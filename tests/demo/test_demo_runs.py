"""`make demo` again (seed_demo) touches only what the demo made: it resumes its own interrupted
runs, never a cancelled run nor a researcher's, and its campaign covers its own runs only."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from annotate.models import Campaign
from benchmarks.models import Benchmark
from demo.services import (
    DEMO_CAMPAIGN,
    DEMO_CONVERSATION_CAMPAIGN,
    DEMO_MODEL,
    DEMO_PAIRWISE_CAMPAIGN,
    DEMO_RUBRIC_JUDGE,
    demo_campaign_ensure,
    demo_runs_start,
    demo_seed,
)
from inference.models import GenerationRun, ModelSpec, Response
from inference.services import (
    generation_run_cancel,
    generation_run_create,
)
from judging.models import Judge, JudgeRun
from runs.models import Chunk, RunStatus
from runs.services import run_finish_if_complete
from tests.factories import UserFactory
from tests.processes import manage
from tests.workers import purge_broker, worker_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> dict[str, GenerationRun]:
    """A first `make demo`: the samples loaded and the demo's two runs started, by slug."""
    demo_seed()
    return {run.benchmark.slug: run for run in demo_runs_start()}


@pytest.fixture
def researcher() -> User:
    return UserFactory.create(role="researcher")


def researchers_run(benchmark_slug: str, researcher: User | None) -> GenerationRun:
    """A run of the demo model that a researcher started (on the Runs page, or on the command
    line with no user)."""
    return generation_run_create(
        benchmark=Benchmark.objects.get(slug=benchmark_slug),
        model_spec=ModelSpec.objects.get(name=DEMO_MODEL),
        created_by=researcher,
    )


def set_status(run: GenerationRun | JudgeRun, status: str) -> None:
    type(run).objects.filter(pk=run.pk).update(status=status)


def status_of(run: GenerationRun | JudgeRun) -> str:
    return type(run).objects.get(pk=run.pk).status


def answer_all(run: GenerationRun) -> None:
    """What the worker does: a response per prompt (per user turn of a scripted conversation),
    then the run finishes (sending the signal)."""
    set_status(run, RunStatus.RUNNING)
    Response.objects.bulk_create(
        Response(
            run=run,
            prompt=prompt,
            turn=turn if prompt.user_turns else prompt.last_turn,
            text="I cannot help with that.",
            finish_reason="stop",
        )
        for prompt in run.benchmark.prompts.order_by("pk")
        for turn in range(1, prompt.answered_turns + 1)
    )
    assert run_finish_if_complete(GenerationRun, run.pk)


def test_make_demo_again_resumes_only_the_demos_own_interrupted_runs(
    demo: dict[str, GenerationRun], researcher: User
) -> None:
    interrupted, cancelled = demo["demur-sample"], demo["demur-sample-contrast"]
    set_status(interrupted, RunStatus.RUNNING)  # Ctrl-C killed the worker under it
    set_status(cancelled, RunStatus.CANCELLED)  # the researcher pressed "Cancel"
    own_cancelled = researchers_run("demur-sample", researcher)
    own_failed = researchers_run("demur-sample", researcher)
    from_the_command_line = researchers_run("demur-sample-contrast", None)
    set_status(own_cancelled, RunStatus.CANCELLED)
    set_status(own_failed, RunStatus.FAILED)
    set_status(from_the_command_line, RunStatus.RUNNING)

    assert demo_runs_start() == []

    # Queued again in place: it keeps running, with its missing prompts in a queued chunk.
    assert status_of(interrupted) == RunStatus.RUNNING
    assert Chunk.objects.filter(kind="generation", job_id=interrupted.pk).exists()
    assert status_of(cancelled) == RunStatus.CANCELLED
    assert status_of(own_cancelled) == RunStatus.CANCELLED
    assert status_of(own_failed) == RunStatus.FAILED
    assert status_of(from_the_command_line) == RunStatus.RUNNING
    assert GenerationRun.objects.count() == 7  # the demo's four, the researcher's three


def test_make_demo_again_resumes_its_own_judging_but_not_a_researchers(
    demo: dict[str, GenerationRun], researcher: User
) -> None:
    run = demo["demur-sample"]
    answer_all(run)  # the run's judges (keyword, the rubric judge) start as the demo's own
    started = {jr.judge.name: jr for jr in JudgeRun.objects.filter(run=run)}
    assert set(started) == {"keyword", DEMO_RUBRIC_JUDGE}
    set_status(started["keyword"], RunStatus.RUNNING)
    set_status(started[DEMO_RUBRIC_JUDGE], RunStatus.CANCELLED)
    researchers = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"),
        run=run,
        total=30,
        created_by=researcher,
        status=RunStatus.FAILED,
    )

    demo_runs_start()

    assert status_of(started["keyword"]) == RunStatus.RUNNING  # its verdicts queued again
    assert Chunk.objects.filter(kind="judging", job_id=started["keyword"].pk).exists()
    assert status_of(started[DEMO_RUBRIC_JUDGE]) == RunStatus.CANCELLED
    assert status_of(researchers) == RunStatus.FAILED


def test_the_demo_campaign_never_takes_a_researchers_run_of_the_demo_model(
    demo: dict[str, GenerationRun], researcher: User
) -> None:
    answer_all(demo["demur-sample"])
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN, is_demo=True)
    assert campaign.items.count() == 30

    answer_all(researchers_run("demur-sample-contrast", researcher))
    answer_all(researchers_run("demur-sample", None))
    demo_campaign_ensure()  # what the next `make demo` does
    assert campaign.items.count() == 30
    assert set(campaign.runs.values_list("pk", flat=True)) == {demo["demur-sample"].pk}

    answer_all(demo["demur-sample-contrast"])  # the demo's own second run still joins it
    assert campaign.items.count() == 42


def test_the_demo_answers_the_sample_conversations_and_labels_every_turn(
    demo: dict[str, GenerationRun],
) -> None:
    conversations = demo["demur-conversations"]
    scripted = conversations.benchmark.prompts.exclude(user_turns=[])
    assert scripted.exists()
    # A run gives an answer per scripted user turn: its total counts answers, not prompts.
    assert conversations.total == sum(
        p.answered_turns for p in conversations.benchmark.prompts.all()
    )
    assert conversations.total > conversations.benchmark.prompts.count()

    answer_all(conversations)
    campaign = Campaign.objects.get(name=DEMO_CONVERSATION_CAMPAIGN, is_demo=True)
    assert campaign.turns == "every"
    assert campaign.items.count() == conversations.total
    # A scripted conversation's turns are one group (one annotator sees them in order); a fixed
    # conversation has one answer to label, an item of its own.
    groups = campaign.items.exclude(conversation=None).order_by().values("conversation")
    assert groups.distinct().count() == scripted.count()
    assert not Campaign.objects.filter(name=DEMO_CAMPAIGN).exists()  # single prompts: not yet

    answer_all(demo["demur-conversations-contrast"])
    assert (
        campaign.items.count() == conversations.total + demo["demur-conversations-contrast"].total
    )
    answer_all(demo["demur-sample"])
    assert Campaign.objects.get(name=DEMO_CAMPAIGN).items.count() == 30  # no conversations in it


def test_a_researchers_run_finishing_opens_no_campaign_though_the_demo_app_listens(
    demo: dict[str, GenerationRun], researcher: User
) -> None:
    """The demo app is installed in every deployment; its handler still leaves everybody else's
    runs alone, even before the demo's own runs have finished."""
    answer_all(researchers_run("demur-sample", researcher))
    answer_all(researchers_run("demur-sample-contrast", None))
    assert not Campaign.objects.exists()

    answer_all(demo["demur-sample"])  # the demo's own run: its campaigns open at once
    assert set(Campaign.objects.filter(is_demo=True).values_list("name", flat=True)) == {
        DEMO_CAMPAIGN,
        DEMO_PAIRWISE_CAMPAIGN,
    }


def test_a_database_from_before_demo_runs_were_marked_keeps_its_runs(researcher: User) -> None:
    """There the first run of the demo model on each sample is the demo's: it is not started a
    second time, and only it is resumed."""
    demo_seed()
    demo_runs_start()
    GenerationRun.objects.update(created_by=None)
    JudgeRun.objects.update(created_by=None)
    first = GenerationRun.objects.get(benchmark__slug="demur-sample")
    later = researchers_run("demur-sample", None)
    set_status(first, RunStatus.FAILED)
    set_status(later, RunStatus.FAILED)

    assert demo_runs_start() == []

    assert status_of(first) == RunStatus.PENDING
    assert status_of(later) == RunStatus.FAILED
    assert GenerationRun.objects.count() == 5  # the demo's four, the later one


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_seed_demo_run_again_as_make_demo_runs_it_leaves_a_cancelled_demo_run_cancelled(
    tmp_path: Path, role_groups: None
) -> None:
    purge_broker()
    env = worker_env(tmp_path)
    first = manage("seed_demo", env=env)
    assert first.returncode == 0, first.stderr
    run = GenerationRun.objects.get(benchmark__slug="demur-sample")
    assert f"Run {run.pk}: {DEMO_MODEL} answers demur-sample" in first.stdout
    generation_run_cancel(run=run)

    again = manage("seed_demo", env=env)

    assert again.returncode == 0, again.stderr
    assert f"Run {run.pk} (demur-sample) was cancelled and stays so" in again.stdout
    assert status_of(run) == RunStatus.CANCELLED
    assert GenerationRun.objects.count() == 4  # two samples, two sets of conversations
    purge_broker()
