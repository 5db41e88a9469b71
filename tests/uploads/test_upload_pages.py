"""Uploading on the pages: the form on Benchmarks and Runs, the upload's page with its progress
bar, and the sentence for bad input, with nothing kept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from benchmarks.models import Benchmark, Prompt
from inference.models import GenerationRun
from tests.factories import UserFactory
from tests.uploads.helpers import a_file, benchmark_bytes, folders_in, responses_bytes
from uploads.models import Upload, UploadStatus
from uploads.progress import ProgressReporter
from uploads.services import upload_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def post_benchmark(client: Client, content: bytes, name: str = "bench.jsonl", **fields: str):
    """The form as the page sends it: the file first, then the other fields."""
    form = {"file": a_file(content, name), "slug": "up", "kind": "noncompliance"} | fields
    return client.post("/benchmarks/upload/", form)


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_researcher_uploads_a_benchmark_and_watches_it_arrive(researcher: Client) -> None:
    assert 'enctype="multipart/form-data"' in text(researcher.get("/benchmarks/"))
    answer = post_benchmark(researcher, benchmark_bytes(10))
    upload = Upload.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/uploads/{upload.pk}/"

    waiting = text(researcher.get(f"/uploads/{upload.pk}/"))
    assert "Waiting for a worker to take the file." in waiting
    assert f'hx-get="/uploads/{upload.pk}/progress/"' in waiting
    assert researcher.get(f"/uploads/{upload.pk}/progress/").status_code == 200  # still polling

    upload_import(upload_id=upload.pk)
    done = researcher.get(f"/uploads/{upload.pk}/progress/")
    assert done.status_code == 286  # htmx stops polling
    page = text(done)
    assert "up: 10 prompts read; 10 new, 0 updated, 0 unchanged." in page
    assert '<progress max="10" value="10">' in page
    assert 'href="/benchmarks/up/"' in page
    assert Prompt.objects.filter(benchmark__slug="up").count() == 10
    assert "bench.jsonl" in text(researcher.get("/uploads/"))


def test_a_running_upload_shows_how_far_the_worker_got(researcher: Client) -> None:
    post_benchmark(researcher, benchmark_bytes(10))
    upload = Upload.objects.get()
    Upload.objects.claim(upload.pk)
    assert "Reading and checking the file…" in text(
        researcher.get(f"/uploads/{upload.pk}/progress/")
    )
    ProgressReporter(upload.pk)(3, 10)  # what the worker's importer says, through the cache
    page = text(researcher.get(f"/uploads/{upload.pk}/progress/"))
    assert '<progress max="10" value="3">' in page
    assert "3 / 10 rows (30%)" in page


def test_a_file_larger_than_memory_is_streamed_to_disk_and_kept_whole(
    researcher: Client, settings: Any, upload_root: Path
) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # this file goes to a temporary file
    content = benchmark_bytes(500)
    post_benchmark(researcher, content)
    upload = Upload.objects.get()
    assert upload.path("file").read_bytes() == content  # type: ignore[union-attr]
    assert list((upload_root / "incoming").iterdir()) == []  # moved, not copied
    upload_import(upload_id=upload.pk)
    assert Prompt.objects.count() == 500


def test_a_bad_file_fails_on_its_page_with_the_line(researcher: Client) -> None:
    post_benchmark(researcher, benchmark_bytes(4, bad_line=2))
    upload = Upload.objects.get()
    upload_import(upload_id=upload.pk)
    page = text(researcher.get(f"/uploads/{upload.pk}/"))
    assert "Line 2 of bench.jsonl is not valid JSON" in page
    assert "Nothing was imported." in page
    assert not Benchmark.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "fields", "sentence"),
    [
        ("bench.pdf", b"{}", {}, "bench.pdf cannot be read as a benchmark file: name it .jsonl"),
        ("bench.jsonl", b"", {}, "The submitted file is empty."),
        ("bench.jsonl", b"{}", {"slug": ""}, "This field is required."),
        ("bench.jsonl", b"{}", {"slug": "a b"}, "The slug &#x27;a b&#x27; must be 1 to 100"),
    ],
)
def test_bad_input_is_a_400_with_the_sentence_on_the_form(
    researcher: Client,
    upload_root: Path,
    name: str,
    content: bytes,
    fields: dict[str, str],
    sentence: str,
) -> None:
    answer = post_benchmark(researcher, content, name, **fields)
    assert answer.status_code == 400
    assert sentence in text(answer)
    assert not Upload.objects.exists()
    assert folders_in(upload_root) == []


# Over the limit by the request's length (refused at the file's first byte), and within the
# length's allowance for form fields but over it once the file's bytes are counted.
@pytest.mark.parametrize("size", [2_500_000, 1_500_000])
def test_a_file_over_the_limit_is_a_413_and_nothing_is_stored(
    researcher: Client, settings: Any, upload_root: Path, size: int
) -> None:
    settings.DEMUR_UPLOAD_MAX_BYTES = 1_000_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    answer = post_benchmark(researcher, b"x" * size)
    assert answer.status_code == 413
    assert "bench.jsonl is over the upload limit of 1 MB (DEMUR_UPLOAD_MAX_BYTES)." in text(answer)
    assert "This field is required." not in text(answer)  # one sentence, not one per field
    assert not Upload.objects.exists()
    assert folders_in(upload_root) == []
    assert list((upload_root / "incoming").iterdir()) == []


def test_responses_are_uploaded_on_the_runs_page(researcher: Client) -> None:
    post_benchmark(researcher, benchmark_bytes(3))
    upload_import(upload_id=Upload.objects.get().pk)
    assert "Import responses" in text(researcher.get("/runs/"))
    answer = researcher.post(
        "/runs/upload/",
        {"benchmark": "up", "model": "gpt-4", "file": a_file(responses_bytes(["p0", "p1"]))},
    )
    upload = Upload.objects.get(kind="responses")
    assert answer["Location"] == f"/uploads/{upload.pk}/"
    upload_import(upload_id=upload.pk)
    run = GenerationRun.objects.get()
    page = text(researcher.get(f"/uploads/{upload.pk}/"))
    assert f"Run {run.pk}: 2 responses of gpt-4 imported." in page
    assert f'href="/runs/{run.pk}/"' in page


def test_responses_for_a_benchmark_that_does_not_exist_are_refused(researcher: Client) -> None:
    answer = researcher.post(
        "/runs/upload/",
        {"benchmark": "nope", "model": "gpt-4", "file": a_file(responses_bytes(["p0"]))},
    )
    assert answer.status_code == 400
    assert "Select a valid choice." in text(answer)
    assert not Upload.objects.filter(status=UploadStatus.PENDING).exists()


def test_researchers_see_uploads_in_the_admin_but_make_them_only_by_sending_a_file(
    researcher: Client,
) -> None:
    post_benchmark(researcher, benchmark_bytes(2))
    upload = Upload.objects.get()
    assert researcher.get("/admin/uploads/upload/").status_code == 200
    assert researcher.get(f"/admin/uploads/upload/{upload.pk}/change/").status_code == 200
    assert researcher.get("/admin/uploads/upload/add/").status_code == 403
    answer = researcher.post(f"/admin/uploads/upload/{upload.pk}/change/", {"status": "done"})
    assert answer.status_code == 403
    upload.refresh_from_db()
    assert upload.status == UploadStatus.PENDING
