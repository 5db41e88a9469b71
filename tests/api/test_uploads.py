"""Uploading through the API: POST a file as multipart, 202 with the upload's URL, GET it for
status, progress and what came of it; bad input is a 4xx with one sentence and keeps nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from benchmarks.models import Benchmark, Prompt
from inference.models import GenerationRun
from tests.uploads.helpers import a_file, benchmark_bytes, folders_in, responses_bytes
from uploads.models import Upload
from uploads.services import upload_import

pytestmark = pytest.mark.django_db


def post_benchmark(api: APIClient, content: bytes, name: str = "bench.jsonl", **fields: Any):
    form = {"slug": "up", "kind": "noncompliance", "file": a_file(content, name)} | fields
    return api.post("/api/uploads/benchmark/", form, format="multipart")


def test_a_benchmark_posted_as_multipart_is_accepted_then_imported(
    researcher_api: APIClient,
) -> None:
    answer = post_benchmark(researcher_api, benchmark_bytes(6), description="From the API.")
    assert answer.status_code == 202
    body = answer.json()
    upload = Upload.objects.get()
    assert body["url"] == answer["Location"] == f"http://testserver/api/uploads/{upload.pk}/"
    assert (body["kind"], body["status"], body["file"]) == ("benchmark", "pending", "bench.jsonl")
    assert body["progress"] == {"done": 0, "total": None}

    upload_import(upload_id=upload.pk)
    done = researcher_api.get(answer["Location"]).json()
    assert done["status"] == "done"
    assert done["progress"] == {"done": 6, "total": 6}
    assert done["result"]["benchmark"] == "up" and done["result"]["prompts_created"] == 6
    assert done["summary"].startswith("up: 6 prompts read; 6 new")
    assert done["result_url"] == "/benchmarks/up/"
    assert done["error"] == ""
    assert Benchmark.objects.get(slug="up").description == "From the API."
    assert Prompt.objects.count() == 6
    listed = researcher_api.get("/api/uploads/").json()
    assert [row["id"] for row in listed["results"]] == [upload.pk]


def test_responses_posted_as_multipart_become_a_run(researcher_api: APIClient) -> None:
    upload_import(upload_id=post_benchmark(researcher_api, benchmark_bytes(3)).json()["id"])
    answer = researcher_api.post(
        "/api/uploads/responses/",
        {"benchmark": "up", "model": "gpt-4", "file": a_file(responses_bytes(["p0", "p2"]))},
        format="multipart",
    )
    assert answer.status_code == 202
    upload_import(upload_id=answer.json()["id"])
    result = researcher_api.get(answer["Location"]).json()
    run = GenerationRun.objects.get()
    assert result["status"] == "done"
    assert result["result"] == {"run": run.pk, "imported": 2, "null_responses": 0}
    assert run.responses.count() == 2


def test_a_file_the_worker_refuses_says_why_and_nothing_is_written(
    researcher_api: APIClient,
) -> None:
    answer = post_benchmark(researcher_api, benchmark_bytes(3, bad_line=3))
    upload_import(upload_id=answer.json()["id"])
    result = researcher_api.get(answer["Location"]).json()
    assert result["status"] == "failed"
    assert result["error"].startswith("Line 3 of bench.jsonl is not valid JSON")
    assert result["error"].endswith("Nothing was imported.")
    assert result["result"] == {} and result["summary"] == ""
    assert not Prompt.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "fields", "errors"),
    [
        (
            "bench.xlsx",
            b"{}",
            {},
            {
                "file": [
                    "bench.xlsx cannot be read as a benchmark file: name it .jsonl or .ndjson or "
                    ".json or .csv."
                ]
            },
        ),
        ("bench.jsonl", b"", {}, {"file": ["The submitted file is empty."]}),
        ("bench.jsonl", b"\n\n", {}, {"file": ["bench.jsonl is empty."]}),
        ("bench.jsonl", b"{}", {"slug": ""}, {"slug": ["This field may not be blank."]}),
        (
            "bench.jsonl",
            b"{}",
            {"kind": "both"},
            {"kind": ['"both" is not a valid choice.']},
        ),
        (
            "rubric.json",
            b"{}",
            {"rubric": a_file(b"{}", "rubric.yaml")},
            {"rubric": ["rubric.yaml cannot be read as a rubric: name it .json."]},
        ),
    ],
)
def test_bad_input_is_a_400_with_one_sentence_and_nothing_is_kept(
    researcher_api: APIClient,
    upload_root: Path,
    name: str,
    content: bytes,
    fields: dict[str, Any],
    errors: dict[str, list[str]],
) -> None:
    answer = post_benchmark(researcher_api, content, name, **fields)
    assert answer.status_code == 400
    assert answer.json() == errors
    assert not Upload.objects.exists()
    assert folders_in(upload_root) == []


def test_a_missing_file_is_named(researcher_api: APIClient) -> None:
    answer = researcher_api.post(
        "/api/uploads/benchmark/", {"slug": "up", "kind": "noncompliance"}, format="multipart"
    )
    assert answer.status_code == 400
    assert answer.json() == {"file": ["No file was submitted."]}


def test_a_file_over_the_limit_is_a_413(
    researcher_api: APIClient, settings: Any, upload_root: Path
) -> None:
    settings.DEMUR_UPLOAD_MAX_BYTES = 1_000_000
    answer = post_benchmark(researcher_api, b"x" * 2_500_000)
    assert answer.status_code == 413
    assert answer.json() == {
        "file": ["bench.jsonl is over the upload limit of 1 MB (DEMUR_UPLOAD_MAX_BYTES)."]
    }
    assert not Upload.objects.exists()
    assert folders_in(upload_root) == []


def test_responses_for_an_unknown_benchmark_are_a_400(researcher_api: APIClient) -> None:
    answer = researcher_api.post(
        "/api/uploads/responses/",
        {"benchmark": "nope", "model": "m", "file": a_file(responses_bytes(["p0"]))},
        format="multipart",
    )
    assert answer.status_code == 400
    assert answer.json() == {"benchmark": ["Object with slug=nope does not exist."]}
