"""Verdict files from another tool sent on a run's verdict page or to the API: checked when
they arrive, imported by a worker as a finished judge run (uploads/ keeps and queues them;
judging/apps.py registers the kind; the import itself is judging.verdict_import)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse

from accounts.validation import text_problem
from benchmarks.files import InputFileError
from inference.models import GenerationRun
from judging.models import Judge
from judging.verdict_import import (
    JSON_SUFFIX,
    JSONL_SUFFIXES,
    LOG_SUFFIX,
    VerdictImportReport,
    verdicts_import,
)
from runs.models import RunStatus
from uploads.errors import UploadImportError, UploadRefused
from uploads.models import Upload
from uploads.registry import FileRule, Progress, UploadKind, UploadResult
from uploads.services import upload_create

VERDICTS_UPLOAD = "verdicts"
VERDICT_EXTENSIONS = (*sorted(JSONL_SUFFIXES), JSON_SUFFIX, LOG_SUFFIX)
JUDGE_NAME_MAX_LENGTH = Judge._meta.get_field("name").max_length or 200


def verdicts_upload_create(
    *,
    file: UploadedFile | None,
    run: GenerationRun,
    judge: str,
    created_by: User | None = None,
) -> Upload:
    """Refuse at once what the import would refuse before reading the file (a run not done, a
    judge name the judge cannot hold), then keep the file for a worker."""
    if run.status != RunStatus.DONE:
        raise UploadRefused(
            f"Run {run.pk} is {run.status}; import verdicts once it is done.", field="run"
        )
    problem = text_problem(judge)
    if not judge.strip() or problem:
        raise UploadRefused(f"The judge's name {problem or 'is empty'}.", field="judge")
    if len(judge.strip()) > JUDGE_NAME_MAX_LENGTH:
        raise UploadRefused(
            f"The judge's name is longer than {JUDGE_NAME_MAX_LENGTH} characters.", field="judge"
        )
    return upload_create(
        kind=VERDICTS_UPLOAD,
        files={"file": file},
        options={"run": run.pk, "judge": judge.strip()},
        created_by=created_by,
    )


def verdicts_upload_import(upload: Upload, progress: Progress) -> UploadResult:
    path = upload.path("file")
    assert path is not None
    run_id = upload.options["run"]
    run = GenerationRun.objects.select_related("benchmark").filter(pk=run_id).first()
    if run is None:
        raise UploadImportError(f"No generation run {run_id} (it was deleted after the upload).")
    try:
        report = verdicts_import(
            run=run,
            judge_name=upload.options["judge"],
            path=path,
            created_by=upload.created_by,
            progress=progress,
        )
    except InputFileError as error:
        raise UploadImportError(str(error)) from None
    return UploadResult(
        summary=verdicts_summary(report, run),
        url=reverse("judging:run", args=[run.pk]),
        data={
            "judge_run": report.judge_run.pk,
            "judge": report.judge.label,
            "new_judge": report.new_judge,
            "imported": report.imported,
            "counts": report.counts,
        },
    )


def verdicts_summary(report: VerdictImportReport, run: GenerationRun) -> str:
    """What import_verdicts prints, for the upload's page."""
    judge = report.judge
    made = " (a new imported judge)" if report.new_judge else ""
    counts = ", ".join(f"{label} {n}" for label, n in sorted(report.counts.items()))
    summary = (
        f"Judge run {report.judge_run.pk}: {report.imported} verdicts of {judge.label}{made} on "
        f"run {run.pk} imported: {counts}."
    )
    unjudged = report.responses - report.imported
    if unjudged:
        summary += (
            f"\n{unjudged} of run {run.pk}'s {report.responses} responses have no verdict of "
            f"{judge.label}; reports count only the judged ones."
        )
    return summary


VERDICTS_UPLOAD_KIND = UploadKind(
    name=VERDICTS_UPLOAD,
    label="verdicts",
    files={"file": FileRule(extensions=VERDICT_EXTENSIONS, what="a verdicts file")},
    importer=verdicts_upload_import,
)
