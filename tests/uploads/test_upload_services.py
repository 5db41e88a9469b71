"""Uploads as the services see them: checked when they arrive, imported once by the worker's
task body, everything or nothing, and the files gone afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import services as benchmark_services
from benchmarks.models import Benchmark, Prompt, Rubric
from benchmarks.services import benchmark_import
from benchmarks.uploads import BENCHMARK_UPLOAD_KIND, benchmark_upload_create
from inference.models import GenerationRun
from inference.uploads import responses_upload_create
from tests.factories import UserFactory
from tests.uploads.helpers import a_file, benchmark_bytes, folders_in, responses_bytes
from uploads import registry
from uploads.errors import UploadRefused
from uploads.models import Upload, UploadStatus
from uploads.services import upload_import

pytestmark = pytest.mark.django_db


def send_benchmark(content: bytes, file_name: str = "bench.jsonl", **fields: Any) -> Upload:
    options = {"slug": "up", "kind": "noncompliance"} | fields
    return benchmark_upload_create(file=a_file(content, file_name), **options)


def imported(upload: Upload) -> Upload:
    upload_import(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def test_a_benchmark_upload_waits_on_disk_then_the_worker_imports_it(
    samples_dir: Path, upload_root: Path
) -> None:
    researcher = UserFactory.create(role="researcher")
    sample = samples_dir / "demur_sample.jsonl"
    rubric = a_file((samples_dir / "demur_rubric.json").read_bytes(), "rubric.json")
    upload = send_benchmark(
        sample.read_bytes(), "sample.jsonl", rubric=rubric, created_by=researcher
    )
    assert upload.status == UploadStatus.PENDING
    assert upload.path("file") == upload_root / str(upload.pk) / "sample.jsonl"
    assert upload.path("file").read_bytes() == sample.read_bytes()  # type: ignore[union-attr]

    upload = imported(upload)

    lines = len(sample.read_text().splitlines())
    assert upload.status == UploadStatus.DONE, upload.error
    assert Prompt.objects.filter(benchmark__slug="up").count() == lines
    assert f"up: {lines} prompts read; {lines} new, 0 updated, 0 unchanged." in upload.summary
    assert "Rubric: " in upload.summary
    assert (upload.progress_done, upload.progress_total) == (lines, lines)
    assert upload.result_url == "/benchmarks/up/"
    assert upload.result["prompts_created"] == lines
    benchmark = Benchmark.objects.get(slug="up")
    assert upload.created_by == researcher
    assert benchmark.source == f"sample.jsonl (upload {upload.pk})"
    assert Rubric.objects.filter(source=f"rubric.json (upload {upload.pk})").exists()
    assert folders_in(upload_root) == []  # the file is in the database now


def test_the_same_file_again_changes_nothing() -> None:
    first = imported(send_benchmark(benchmark_bytes(4)))
    again = imported(send_benchmark(benchmark_bytes(4)))
    assert first.result["prompts_created"] == 4
    assert again.status == UploadStatus.DONE
    assert "4 prompts read; 0 new, 0 updated, 4 unchanged." in again.summary
    assert Prompt.objects.count() == 4


def test_a_bad_line_fails_the_upload_with_its_line_and_writes_nothing(upload_root: Path) -> None:
    upload = imported(send_benchmark(benchmark_bytes(5, bad_line=3)))
    assert upload.status == UploadStatus.FAILED
    assert upload.error.startswith("Line 3 of bench.jsonl is not valid JSON:")
    assert upload.error.endswith(" Nothing was imported.")
    assert str(upload_root) not in upload.error  # the file by its name, not the server's path
    assert not Benchmark.objects.exists() and not Prompt.objects.exists()
    assert folders_in(upload_root) == []


def test_a_failure_in_the_middle_of_the_writes_leaves_nothing_half_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(benchmark_services, "WRITE_BATCH", 2)
    calls = []

    def fail_on_the_second_batch(done: int, total: int) -> None:
        calls.append(done)
        if done == 4:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(registry, "_kinds", dict(registry._kinds))
    registry.upload_kind_register(
        registry.UploadKind(
            name="benchmark",
            label="benchmark",
            files=BENCHMARK_UPLOAD_KIND.files,
            importer=lambda upload, progress: BENCHMARK_UPLOAD_KIND.importer(
                upload, fail_on_the_second_batch
            ),
        )
    )
    upload = imported(send_benchmark(benchmark_bytes(6)))
    assert calls == [0, 2, 4]
    assert upload.status == UploadStatus.FAILED
    assert upload.error == (
        "The import stopped on an unexpected error (RuntimeError); nothing was imported. The "
        "worker's log has the details."
    )
    assert not Prompt.objects.exists() and not Benchmark.objects.exists()


def test_the_benchmark_import_reports_progress_batch_by_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchmark_services, "WRITE_BATCH", 2)
    source = tmp_path / "five.jsonl"
    source.write_bytes(benchmark_bytes(5))
    heard: list[tuple[int, int]] = []
    benchmark_import(
        source=str(source), slug="five", kind="noncompliance", progress=lambda *p: heard.append(p)
    )
    assert heard == [(0, 5), (2, 5), (4, 5), (5, 5)]
    source.write_bytes(benchmark_bytes(6))  # five unchanged, one new
    heard.clear()
    benchmark_import(
        source=str(source), slug="five", kind="noncompliance", progress=lambda *p: heard.append(p)
    )
    assert heard == [(5, 6), (6, 6)]


def test_an_upload_is_imported_once_whatever_the_messages() -> None:
    imported(send_benchmark(benchmark_bytes(3)))
    upload = responses_upload_create(
        file=a_file(responses_bytes(["p0", "p1", "p2"]), "answers.jsonl"),
        benchmark=Benchmark.objects.get(slug="up"),
        model="gpt-4",
    )
    imported(upload)
    imported(upload)  # a duplicated message finds it claimed
    assert GenerationRun.objects.count() == 1


def test_a_responses_upload_becomes_a_finished_run(upload_root: Path) -> None:
    imported(send_benchmark(benchmark_bytes(3)))
    upload = imported(
        responses_upload_create(
            file=a_file(responses_bytes(["p0", "p1", "p2"]), "answers.jsonl"),
            benchmark=Benchmark.objects.get(slug="up"),
            model="gpt-4 (imported)",
        )
    )
    run = GenerationRun.objects.get()
    assert upload.status == UploadStatus.DONE, upload.error
    assert upload.summary == f"Run {run.pk}: 3 responses of gpt-4 (imported) imported."
    assert upload.result == {"run": run.pk, "imported": 3, "null_responses": 0}
    assert upload.result_url == f"/runs/{run.pk}/"
    assert run.imported and run.responses.count() == 3 and run.status == "done"
    assert run.model_snapshot == {"imported_from": f"answers.jsonl (upload {upload.pk})"}
    assert folders_in(upload_root) == []


def test_responses_to_unknown_prompts_fail_with_the_line_and_make_no_run() -> None:
    imported(send_benchmark(benchmark_bytes(3)))
    upload = imported(
        responses_upload_create(
            file=a_file(responses_bytes(["p0", "nope"]), "answers.jsonl"),
            benchmark=Benchmark.objects.get(slug="up"),
            model="m",
        )
    )
    assert upload.status == UploadStatus.FAILED
    assert upload.error == (
        "The id 'nope' on line 2 is not a prompt of benchmark 'up'. Nothing was imported."
    )
    assert not GenerationRun.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "fields", "field", "sentence"),
    [
        (
            "bench.txt",
            b"{}",
            {},
            "file",
            "bench.txt cannot be read as a benchmark file: name it .jsonl or .ndjson or .json "
            "or .csv.",
        ),
        ("bench.jsonl", b"", {}, "file", "bench.jsonl is empty."),
        ("bench.jsonl", b"\n  \n", {}, "file", "bench.jsonl is empty."),
        (
            "bench.jsonl",
            b"{}",
            {"slug": "two words"},
            "slug",
            "The slug 'two words' must be 1 to 100 letters, digits, hyphens or underscores "
            "(such as coconot-contrast).",
        ),
        (
            "bench.jsonl",
            b"{}",
            {"kind": "other"},
            "kind",
            "Unknown benchmark kind 'other'; use noncompliance or contrast.",
        ),
        (
            "bench.jsonl",
            b"{}",
            {"name": "x" * 201},
            "name",
            "The benchmark's name is longer than 200 characters.",
        ),
    ],
)
def test_bad_input_is_refused_at_once_and_nothing_is_kept(
    name: str, content: bytes, fields: dict[str, str], field: str, sentence: str, upload_root: Path
) -> None:
    with pytest.raises(UploadRefused) as refused:
        send_benchmark(content, name, **fields)
    assert (refused.value.field, str(refused.value), refused.value.status) == (field, sentence, 400)
    assert not Upload.objects.exists()
    assert folders_in(upload_root) == []


def test_a_missing_file_is_named() -> None:
    with pytest.raises(UploadRefused, match=r"^Choose a benchmark file to upload \(the field "):
        benchmark_upload_create(file=None, slug="up", kind="noncompliance")


def test_a_file_over_the_limit_is_a_413(settings: Any) -> None:
    settings.DEMUR_UPLOAD_MAX_BYTES = 1_000_000
    with pytest.raises(UploadRefused) as refused:
        send_benchmark(b"x" * 1_500_000)
    assert refused.value.status == 413
    assert str(refused.value) == (
        "bench.jsonl is 1.5 MB, over the upload limit of 1 MB (DEMUR_UPLOAD_MAX_BYTES)."
    )


def test_a_slug_taken_by_a_benchmark_of_the_other_kind_is_refused_at_once() -> None:
    Benchmark.objects.create(slug="up", name="up", kind="contrast")
    with pytest.raises(UploadRefused) as refused:
        send_benchmark(benchmark_bytes(2))
    assert refused.value.field == "kind"
    assert str(refused.value) == (
        "Benchmark 'up' is a contrast benchmark; upload with kind contrast or choose another slug."
    )


@pytest.mark.parametrize(
    ("model", "sentence"),
    [
        ("", "The model name is empty; it is shown as the run's model."),
        ("m" * 201, "The model name is longer than 200 characters."),
    ],
)
def test_a_model_name_the_run_cannot_show_is_refused(model: str, sentence: str) -> None:
    benchmark = Benchmark.objects.create(slug="up", name="up", kind="noncompliance")
    with pytest.raises(UploadRefused, match=sentence):
        responses_upload_create(
            file=a_file(responses_bytes(["p0"])), benchmark=benchmark, model=model
        )
    assert not Upload.objects.exists()


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("my prompts (1).JSONL", "my_prompts_1.jsonl"),
        ("../../etc/bench.jsonl", "bench.jsonl"),
        ("§§.jsonl", "file.jsonl"),
        ("..jsonl", "file.jsonl"),
    ],
)
def test_a_file_is_kept_under_a_safe_name_that_still_says_its_format(
    sent: str, kept: str, upload_root: Path
) -> None:
    upload = send_benchmark(benchmark_bytes(2), sent)
    assert upload.path("file") == upload_root / str(upload.pk) / kept
    assert imported(upload).status == UploadStatus.DONE
