"""A judge's verdicts from another tool, uploaded on the run's verdict page or to the API and
imported by the worker as a finished judge run."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from benchmarks.models import Benchmark
from inference.models import GenerationRun
from inference.uploads import responses_upload_create
from judging.models import JudgeRun, Verdict
from judging.uploads import verdicts_upload_create
from tests.api.conftest import token_client
from tests.factories import UserFactory
from tests.uploads.helpers import a_file, benchmark_bytes, responses_bytes
from uploads.errors import UploadRefused
from uploads.models import Upload, UploadStatus
from uploads.services import upload_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def run() -> GenerationRun:
    """Three prompts and a finished run of their responses, both uploaded."""
    from benchmarks.uploads import benchmark_upload_create

    upload_import(
        upload_id=benchmark_upload_create(
            file=a_file(benchmark_bytes(3)), slug="up", kind="noncompliance"
        ).pk
    )
    upload = responses_upload_create(
        file=a_file(responses_bytes(["p0", "p1", "p2"])),
        benchmark=Benchmark.objects.get(slug="up"),
        model="m",
    )
    upload_import(upload_id=upload.pk)
    return GenerationRun.objects.get()


def verdict_bytes(labels: dict[str, str]) -> bytes:
    return "".join(
        json.dumps({"id": identifier, "label": label}) + "\n"
        for identifier, label in labels.items()
    ).encode()


def test_uploaded_verdicts_become_a_finished_judge_run(run: GenerationRun) -> None:
    labels = {"p0": "complied", "p1": "not_complied", "p2": "UNACCEPTABLE"}
    upload = verdicts_upload_create(
        file=a_file(verdict_bytes(labels), "verdicts.jsonl"), run=run, judge=" gpt-judge "
    )
    assert upload.options == {"run": run.pk, "judge": "gpt-judge"}
    upload_import(upload_id=upload.pk)
    upload.refresh_from_db()
    judge_run = JudgeRun.objects.get(judge__name="gpt-judge")
    assert upload.status == UploadStatus.DONE, upload.error
    assert upload.summary.startswith(
        f"Judge run {judge_run.pk}: 3 verdicts of gpt-judge (a new imported judge) on run "
        f"{run.pk} imported: complied 2, not_complied 1."
    )
    assert upload.result["judge_run"] == judge_run.pk
    assert upload.result_url == f"/judging/runs/{run.pk}/"
    assert (upload.progress_done, upload.progress_total) == (3, 3)
    assert Verdict.objects.filter(judge_run=judge_run).count() == 3


def test_a_bad_label_fails_with_its_line_and_no_judge_run_is_made(run: GenerationRun) -> None:
    labels = {"p0": "complied", "p1": "maybe"}
    upload = verdicts_upload_create(file=a_file(verdict_bytes(labels)), run=run, judge="j")
    upload_import(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    assert "line 2" in upload.error and upload.error.endswith("Nothing was imported.")
    assert not JudgeRun.objects.filter(judge__name="j").exists()


def test_a_run_still_going_is_refused_at_once(run: GenerationRun) -> None:
    GenerationRun.objects.filter(pk=run.pk).update(status="running")
    run.refresh_from_db()
    with pytest.raises(UploadRefused) as refused:
        verdicts_upload_create(file=a_file(verdict_bytes({"p0": "complied"})), run=run, judge="j")
    assert (refused.value.field, str(refused.value)) == (
        "run",
        f"Run {run.pk} is running; import verdicts once it is done.",
    )
    assert not Upload.objects.filter(kind="verdicts").exists()


def test_verdicts_are_uploaded_on_the_run_s_verdict_page(run: GenerationRun) -> None:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    page = client.get(f"/judging/runs/{run.pk}/").content.decode()
    assert "Import verdicts from another tool" in page
    wrong = client.post(
        f"/judging/runs/{run.pk}/upload/",
        {"judge": "j", "file": a_file(b"{}", "verdicts.txt")},
    )
    assert wrong.status_code == 400
    assert (
        "verdicts.txt cannot be read as a verdicts file: name it .jsonl or .ndjson or .json or "
        ".eval." in re.sub(r"\s+", " ", wrong.content.decode())
    )
    answer = client.post(
        f"/judging/runs/{run.pk}/upload/",
        {"judge": "j", "file": a_file(verdict_bytes({"p0": "complied"}))},
    )
    upload = Upload.objects.get(kind="verdicts")
    assert answer["Location"] == f"/uploads/{upload.pk}/"


def test_verdicts_are_uploaded_through_the_api(run: GenerationRun) -> None:
    api: APIClient = token_client(UserFactory.create(role="researcher"))
    answer = api.post(
        "/api/uploads/verdicts/",
        {"run": run.pk, "judge": "j", "file": a_file(verdict_bytes({"p1": "neither"}))},
        format="multipart",
    )
    assert answer.status_code == 202
    upload_import(upload_id=answer.json()["id"])
    result: dict[str, Any] = api.get(answer["Location"]).json()
    assert result["status"] == "done"
    assert result["result"]["counts"] == {"neither": 1}
    missing = api.post(
        "/api/uploads/verdicts/",
        {"run": 999999, "judge": "j", "file": a_file(verdict_bytes({"p1": "neither"}))},
        format="multipart",
    )
    assert missing.status_code == 400
    assert missing.json() == {"run": ['Invalid pk "999999" - object does not exist.']}
