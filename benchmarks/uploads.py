"""Benchmark files sent on the Benchmarks page or to the API: checked when they arrive, imported
by a worker (uploads/ keeps and queues them; benchmarks/apps.py registers the kind)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse

from benchmarks.files import RECORD_EXTENSIONS, InputFileError
from benchmarks.models import Benchmark, BenchmarkKind
from benchmarks.services import benchmark_import, check_benchmark_fields
from uploads.errors import UploadImportError, UploadRefused
from uploads.models import Upload
from uploads.registry import FileRule, Progress, UploadKind, UploadResult
from uploads.services import upload_create

BENCHMARK_UPLOAD = "benchmark"


def benchmark_upload_create(
    *,
    file: UploadedFile | None,
    slug: str,
    kind: str,
    name: str = "",
    description: str = "",
    rubric: UploadedFile | None = None,
    created_by: User | None = None,
) -> Upload:
    """Refuse at once what the import would refuse without reading the file (the slug, the
    kind, a benchmark of the other kind under that slug), then keep the files for a worker."""
    if kind not in BenchmarkKind.values:
        raise UploadRefused(
            f"Unknown benchmark kind '{kind}'; use noncompliance or contrast.", field="kind"
        )
    try:
        check_benchmark_fields(slug=slug, name=name, description=description, source="")
    except InputFileError as error:
        field = next(
            (f for f in ("name", "description") if f"benchmark's {f}" in str(error)), "slug"
        )
        raise UploadRefused(str(error), field=field) from None
    other_kind = Benchmark.objects.filter(slug=slug).exclude(kind=kind).first()
    if other_kind is not None:
        raise UploadRefused(
            f"Benchmark '{slug}' is a {other_kind.kind} benchmark; upload with kind "
            f"{other_kind.kind} or choose another slug.",
            field="kind",
        )
    return upload_create(
        kind=BENCHMARK_UPLOAD,
        files={"file": file, "rubric": rubric},
        options={"slug": slug, "kind": kind, "name": name, "description": description},
        created_by=created_by,
    )


def benchmark_upload_import(upload: Upload, progress: Progress) -> UploadResult:
    options = upload.options
    path, rubric_path = upload.path("file"), upload.path("rubric")
    assert path is not None
    try:
        report = benchmark_import(
            source=str(path),
            slug=options["slug"],
            kind=options["kind"],
            name=options.get("name", ""),
            description=options.get("description", ""),
            rubric_path=rubric_path,
            source_label=f"{path.name} (upload {upload.pk})",
            rubric_label=f"{rubric_path.name} (upload {upload.pk})" if rubric_path else "",
            progress=progress,
        )
    except InputFileError as error:
        raise UploadImportError(str(error)) from None
    benchmark, prompts = report.benchmark, report.prompts
    return UploadResult(
        summary="\n".join(line for line, _ in report.lines()),
        url=reverse("benchmarks:detail", args=[benchmark.slug]),
        data={
            "benchmark": benchmark.slug,
            "prompts_read": prompts.read,
            "prompts_created": prompts.created,
            "prompts_updated": prompts.updated,
            "prompts_unchanged": prompts.unchanged,
            "rubric_new_versions": report.rubric.new_versions if report.rubric else 0,
        },
    )


BENCHMARK_UPLOAD_KIND = UploadKind(
    name=BENCHMARK_UPLOAD,
    label="benchmark",
    files={
        "file": FileRule(extensions=RECORD_EXTENSIONS, what="a benchmark file"),
        "rubric": FileRule(extensions=(".json",), required=False, what="a rubric"),
    },
    importer=benchmark_upload_import,
)
