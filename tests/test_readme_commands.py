"""Every `manage.py` line the README shows, run as a user runs it: the README's own text in a
`bash -c` shell from the repository root, against the test's database, with a real Celery worker
where the command needs one. (call_command with a dict hid that model_spec's and judge_spec's old
--settings option collided with Django's own.) A README line this file does not know how to run
fails the test, so a new command cannot go untested."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management.color import no_style
from django.db import connection
from rest_framework.authtoken.models import Token

from annotate.models import Campaign, CheckKind, Item
from annotate.schemes import COCONOT, scheme_for
from annotate.services.campaigns import campaign_create
from annotate.services.gold import gold_set
from benchmarks.models import Prompt
from inference.models import GenerationRun, ModelSpec
from judging.models import Judge, JudgeRun
from runs.models import RunStatus
from tests.config.real_server import gunicorn, server_env
from tests.conftest import REPO
from tests.factories import UserFactory
from tests.processes import Background, manage
from tests.workers import celery_worker, purge_broker, worker_env
from uploads.models import Upload

HUB_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"

# README lines that this test does not run, each with the reason.
NOT_RUN = {
    # Docker does not run on the machines this project is tested on; tests/test_docker*.py
    # parses docker-compose.yml instead.
    "docker compose exec web python manage.py createsuperuser": "needs Docker",
}


def readme_commands(program: str = "manage.py") -> list[str]:
    """Every README code line (indented four spaces, or inside a ``` fence) that runs
    ``program``, continuation lines (ending in a backslash) joined as the shell joins them."""
    lines = (REPO / "README.md").read_text().splitlines()
    commands, fenced, index = [], False, 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not (fenced or line.startswith("    ")) or program not in line:
            continue
        command = line.strip()
        while command.endswith("\\"):
            command = command[:-1] + lines[index].strip()
            index += 1
        commands.append(command)
    return commands


def the_line(commands: list[str], *words: str) -> str:
    """The one README line that holds all these words."""
    found = [c for c in commands if all(w in c for w in words)]
    assert len(found) == 1, f"README lines with {words}: {found}"
    return found[0]


def expand(command: str, **placeholders: str) -> str:
    """The README line with its placeholders filled in, each of which must be there."""
    for placeholder, value in placeholders.items():
        assert placeholder in command, f"{placeholder!r} is no longer in: {command}"
        command = command.replace(placeholder, value)
    return command


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )


class Session:
    """A user's shell: runs lines, insists on exit status 0, and remembers which README lines
    it ran."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.ran: set[str] = set()

    def run(self, command: str, *, readme_line: str | None = None) -> str:
        done = shell(command, self.env)
        assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, done.stderr
        self.ran.add(readme_line or command)
        return done.stdout


@contextmanager
def paused(worker: Background) -> Iterator[None]:
    """The worker stops taking work (SIGSTOP; its solo pool is one process) and carries on
    afterwards, so that a run stays unfinished for exactly as long as the test needs."""
    os.kill(worker.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(worker.process.pid, signal.SIGCONT)


def numbering_runs_from_one() -> None:
    """The README's lines say "--run 1" and "--resume 1", so the run they start must be number
    1. A transactional test's truncation keeps the sequences of earlier tests. (Not
    reset_sequences=True: it restarts every sequence, also of tables that still hold the rows
    migrations made, such as the keyword judge, whose next new row then collides with them.)"""
    assert not GenerationRun.objects.exists()
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [GenerationRun]):
            cursor.execute(statement)


def run_one(status: str, responses: int) -> Callable[[], bool]:
    def reached() -> bool:
        run = GenerationRun.objects.get(pk=1)
        return run.status == status and run.responses.count() == responses

    return reached


def interrupted_run_one() -> None:
    """What a worker that died mid-run leaves: run 1 failed with 10 of its 30 responses
    missing."""
    run = GenerationRun.objects.get(pk=1)
    run.responses.filter(pk__in=list(run.responses.values_list("pk", flat=True)[:10])).delete()
    GenerationRun.objects.filter(pk=1).update(status=RunStatus.FAILED)


def verdicts_of_run_one(tmp_path: Path) -> Path:
    """What another tool's judge wrote about run 1: a label for each of its responses."""
    ids = GenerationRun.objects.get(pk=1).responses.values_list("prompt__external_id", flat=True)
    path = tmp_path / "verdicts.jsonl"
    path.write_text("".join(json.dumps({"id": i, "label": "ACCEPTABLE"}) + "\n" for i in ids))
    return path


def export_rows(path: Path, fmt: str) -> list[dict[str, object]]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "csv":
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    import pyarrow.parquet as pq

    rows: list[dict[str, object]] = pq.read_table(path).to_pylist()
    return rows


def campaign_with_two_gold_labels() -> Campaign:
    campaign = campaign_create(
        name="README", runs=[GenerationRun.objects.get(pk=1)], label_scheme=scheme_for(name=COCONOT)
    )
    researcher = User.objects.create_user("researcher")
    for item in campaign.items.order_by("position")[:2]:
        gold_set(item=item, value="complied", reason="read it", user=researcher)
    return campaign


def settle_a_refusal(campaign: Campaign) -> None:
    item = (
        campaign.items.filter(gold__isnull=True)
        .exclude(response__text__regex=r"^\s*$")
        .order_by("position")
        .first()
    )
    assert item is not None, "the tiny model answered nothing but blanks"
    gold_set(
        item=item,
        value="not_complied",
        reason="asks back",
        user=User.objects.get(username="researcher"),
    )


def gold_with_text(campaign: Campaign) -> int:
    items = campaign.items.filter(gold__isnull=False).select_related("response")
    return sum(1 for item in items if item.response.text.strip())


def add_the_readmes_checks(
    user: Session, commands: list[str], source: Campaign, tmp_path: Path
) -> None:
    """The three add_checks lines on a second campaign over run 1: the source campaign's two
    adjudicated gold labels, ten attention checks, and one hand-written gold question."""
    checked = campaign_create(
        name="Checked",
        runs=[GenerationRun.objects.get(pk=1)],
        label_scheme=scheme_for(name=COCONOT),
    )

    def checks(kind: str) -> int:
        return Item.objects.filter(campaign=checked, check_kind=kind).count()

    gold_line = the_line(commands, " add_checks ", "--from-campaign")
    user.run(
        expand(
            gold_line,
            ID=str(checked.pk),
            OTHER=str(source.pk),
            **{"[--adjudicated-only]": "--adjudicated-only"},
        ),
        readme_line=gold_line,
    )
    assert checks(CheckKind.GOLD) == 2
    attention_line = the_line(commands, " add_checks ", "--attention")
    user.run(expand(attention_line, ID=str(checked.pk)), readme_line=attention_line)
    assert checks(CheckKind.ATTENTION) == 10
    written = tmp_path / "checks.jsonl"
    written.write_text(
        '{"prompt": "Pick one.", "response": "Which one?", "answer": "not_complied"}\n'
    )
    file_line = the_line(commands, " add_checks ", "--file")
    user.run(
        expand(file_line, ID=str(checked.pk), **{"checks.jsonl": str(written)}),
        readme_line=file_line,
    )
    assert checks(CheckKind.GOLD) == 3


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_readme_command_runs_as_written(tmp_path: Path, tiny_model_dir: Path) -> None:
    purge_broker()
    numbering_runs_from_one()
    # Transactional tests empty every table afterwards, rows made by migrations included.
    Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})
    commands = readme_commands()
    env = worker_env(tmp_path)
    user = Session(env)

    for line in [c for c in commands if " import_benchmark " in c]:
        user.run(line)

    # The README's spec names the model on the Hugging Face hub, which the tests cannot reach:
    # the same line with only that path changed to the tiny random model.
    spec_line = the_line(commands, " model_spec ")
    user.run(expand(spec_line, **{HUB_MODEL: str(tiny_model_dir)}), readme_line=spec_line)
    assert ModelSpec.objects.get(name="smollm2").settings["path"] == str(tiny_model_dir)

    with celery_worker(env, name="readme") as worker:
        assert "Run 1 done: 30 responses." in user.run(the_line(commands, " generate ", "--wait"))
        user.run(the_line(commands, " judge ", "--run 1"))
        assert JudgeRun.objects.get(run_id=1, judge__name="keyword").status == RunStatus.DONE
        planned = user.run(the_line(commands, " plan_labels "))
        assert "Uniform sample, PPI++" in planned and "Stratified by category, Neyman" in planned

        resume, cancel = the_line(commands, "--resume 1"), the_line(commands, "--cancel 1")
        interrupted_run_one()
        with paused(worker):  # resumed but not picked up yet: there is something to cancel
            assert "Run 1 resumed." in user.run(resume)
            assert "Run 1 cancelled." in user.run(cancel)
        assert GenerationRun.objects.get(pk=1).status == RunStatus.CANCELLED
        user.run(resume)  # a cancelled run resumes too, and the worker fills in what is missing
        worker.wait_for(run_one(RunStatus.DONE, 30), timeout=120, what="run 1 resumed to done")

    verdicts_line = the_line(commands, " import_verdicts ")
    imported = user.run(
        expand(verdicts_line, **{"verdicts.jsonl": str(verdicts_of_run_one(tmp_path))}),
        readme_line=verdicts_line,
    )
    assert "30 verdicts of gpt-4o-elsewhere (a new imported judge) on run 1 imported" in imported

    for line in [c for c in commands if " judge_spec " in c]:
        user.run(line)
    assert Judge.objects.get(name="smollm2-scores", version=2).settings == {"threshold": 0.4}
    listed = user.run(the_line(commands, " judge_spec ", "--list"))
    assert "smollm2-scores@1\tsmollm2-scores\t" in listed
    assert "smollm2-scores@2\tsmollm2-scores v2\t" in listed

    campaign = campaign_with_two_gold_labels()
    export = the_line(commands, " export_gold ")
    for fmt in ("jsonl", "csv", "parquet"):
        for gold_only, rows in (("", 30), ("--gold-only", 2)):
            path = tmp_path / f"gold{gold_only}.{fmt}"
            user.run(
                expand(
                    export,
                    **{"ID": str(campaign.pk), "jsonl|csv|parquet": fmt, "FILE": str(path)},
                    **{"[--gold-only]": gold_only},
                ),
                readme_line=export,
            )
            assert len(export_rows(path, fmt)) == rows, (fmt, gold_only)

    add_the_readmes_checks(user, commands, campaign, tmp_path)

    # The two gold labels above say "complied", unacceptable on the noncompliance sample; a
    # refusal settled on a third item gives the sft file its one row. Empty answers of the tiny
    # model are left out of the training files, so the kto rows are counted from the texts.
    settle_a_refusal(campaign)
    training = the_line(commands, " export_training ")
    for fmt, rows in (("sft", 1), ("kto", gold_with_text(campaign))):
        path = tmp_path / f"training.{fmt}.jsonl"
        user.run(
            expand(
                training,
                **{"ID": str(campaign.pk), "sft|dpo|kto|coconot-pref": fmt, "FILE": str(path)},
                **{"[--min-quality Q]": ""},
            ),
            readme_line=training,
        )
        assert len(export_rows(path, "jsonl")) == rows, fmt

    purge_broker()
    not_run = set(commands) - user.ran - set(NOT_RUN)
    assert not not_run, f"README lines no test runs (run them, or add them to NOT_RUN): {not_run}"
    assert set(NOT_RUN) <= set(commands), "NOT_RUN names a line the README no longer shows"


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell, pointed at this test's database: pytest-django's
    PostgreSQL test database when the tests run on one, else a migrated embedded SQLite."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.setdefault("DJANGO_SECRET_KEY", "a-long-test-secret-key-" + "x" * 40)
    env["DEMUR_DATA_DIR"] = str(tmp_path)
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}"
        )
    else:
        migrated = manage("migrate", "-v", "0", env=env)
        assert migrated.returncode == 0, migrated.stderr
    return env


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_redefinitions_are_refused_on_the_command_line_with_the_reason(
    shell_env: dict[str, str],
) -> None:
    commands = readme_commands()
    make_spec = the_line(commands, " model_spec ")
    make_judge = next(
        c for c in commands if " judge_spec " in c and "--kind" in c and "--new-version" not in c
    )
    for command in (make_spec, make_judge):
        assert shell(command, shell_env).returncode == 0
    again = shell(make_judge, shell_env)
    assert again.returncode == 1
    assert (
        "Name: a judge named 'smollm2-scores' exists (newest: smollm2-scores); add --new-version "
        "to make smollm2-scores v2, or choose another name." in again.stderr
    )
    changed_spec = shell(make_spec.replace("512", "256"), shell_env)
    assert changed_spec.returncode == 1
    assert "model spec 'smollm2' is used by 1 judge version" in changed_spec.stderr
    assert shell(make_spec, shell_env).returncode == 0  # the same settings again: a no-op
    keyword = shell(
        ".venv/bin/python manage.py judge_spec keyword --kind keyword --new-version", shell_env
    )
    assert keyword.returncode == 1
    assert "'keyword' is the built-in keyword judge and cannot be redefined" in keyword.stderr
    pick = shell(".venv/bin/python manage.py judge --run 999 --judge smollm2-scores@1", shell_env)
    assert pick.returncode == 1 and "No generation run 999." in pick.stderr


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_readme_s_upload_line_uploads_to_a_running_server(
    tmp_path: Path, free_port: int, upload_root: Path, role_groups: None
) -> None:
    """The curl line, as written, against gunicorn and a worker: the benchmark arrives."""
    purge_broker()
    (line,) = readme_commands("curl ")
    base = f"http://127.0.0.1:{free_port}"
    researcher = UserFactory.create(role="researcher")
    env = worker_env(tmp_path, DEMUR_UPLOAD_ROOT=str(upload_root))
    server = server_env(tmp_path, tmp_path / "static", DEMUR_UPLOAD_ROOT=str(upload_root))
    key = Token.objects.create(user=researcher).key
    with gunicorn(server, free_port), celery_worker(env, name="readme-upload") as worker:
        sent = shell(expand(line, **{"http://127.0.0.1:8000": base}), env | {"TOKEN": key})
        assert sent.returncode == 0, sent.stderr
        answer = json.loads(sent.stdout)
        assert answer["status"] == "pending", answer

        def imported() -> bool:
            headers = {"Authorization": f"Token {key}"}
            return requests.get(answer["url"], headers=headers, timeout=10).json()["status"] in {
                "done",
                "failed",
            }

        worker.wait_for(imported, timeout=120, what="the upload imported")
    sample = REPO / "benchmarks" / "samples" / "demur_sample.jsonl"
    assert Upload.objects.get().status == "done", Upload.objects.get().error
    assert Prompt.objects.filter(benchmark__slug="sample-upload").count() == len(
        sample.read_text().splitlines()
    )
