"""Response files sent on the Runs page or to the API: checked when they arrive, imported by a
worker as a finished run (uploads/ keeps and queues them; inference/apps.py registers the
kind)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse

from accounts.validation import text_problem
from benchmarks.files import RECORD_EXTENSIONS, InputFileError
from benchmarks.models import Benchmark
from inference.models import GenerationRun
from inference.services import responses_import
from uploads.errors import UploadImportError, UploadRefused
from uploads.models import Upload
from uploads.registry import FileRule, Progress, UploadKind, UploadResult
from uploads.services import upload_create

RESPONSES_UPLOAD = "responses"
MODEL_NAME_MAX_LENGTH = GenerationRun._meta.get_field("model_name").max_length or 200


def responses_upload_create(
    *,
    file: UploadedFile | None,
    benchmark: Benchmark,
    model: str,
    created_by: User | None = None,
) -> Upload:
    """Refuse a model name the run cannot hold at once, then keep the file for a worker."""
    problem = text_problem(model)
    if not model.strip() or problem:
        raise UploadRefused(
            f"The model name {problem or 'is empty'}; it is shown as the run's model.",
            field="model",
        )
    if len(model) > MODEL_NAME_MAX_LENGTH:
        raise UploadRefused(
            f"The model name is longer than {MODEL_NAME_MAX_LENGTH} characters.", field="model"
        )
    return upload_create(
        kind=RESPONSES_UPLOAD,
        files={"file": file},
        options={"benchmark": benchmark.slug, "model": model},
        created_by=created_by,
    )


def responses_upload_import(upload: Upload, progress: Progress) -> UploadResult:
    path = upload.path("file")
    assert path is not None
    slug, model = upload.options["benchmark"], upload.options["model"]
    benchmark = Benchmark.objects.filter(slug=slug).first()
    if benchmark is None:
        raise UploadImportError(f"No benchmark '{slug}' (it was deleted after the upload).")
    try:
        report = responses_import(
            path=path,
            benchmark=benchmark,
            model_name=model,
            created_by=upload.created_by,
            source_label=f"{path.name} (upload {upload.pk})",
            progress=progress,
        )
    except InputFileError as error:
        raise UploadImportError(str(error)) from None
    summary = f"Run {report.run.pk}: {report.imported} responses of {model} imported."
    if report.null_responses:
        summary += (
            f"\n{report.null_responses} had no response (null); they are kept with an error so "
            "judges and people see them as missing."
        )
    return UploadResult(
        summary=summary,
        url=reverse("inference:run", args=[report.run.pk]),
        data={
            "run": report.run.pk,
            "imported": report.imported,
            "null_responses": report.null_responses,
        },
    )


RESPONSES_UPLOAD_KIND = UploadKind(
    name=RESPONSES_UPLOAD,
    label="responses",
    files={"file": FileRule(extensions=RECORD_EXTENSIONS, what="a responses file")},
    importer=responses_upload_import,
)
