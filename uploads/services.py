"""Writes of uploads: storing a file that passed the checks and queueing its import, and the
import itself, which the worker runs (uploads/tasks.py)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from uploads.errors import UploadImportError, UploadRefused, too_big
from uploads.models import Upload, UploadStatus
from uploads.progress import ProgressReporter, progress_forget
from uploads.registry import FileRule, UploadResult, upload_kind

log = logging.getLogger(__name__)

UPLOAD_TASK = "uploads.tasks.upload_import"
UPLOAD_QUEUE = "default"
# Longest file name kept (the name shows on pages and in what the import records).
NAME_MAX_LENGTH = 100
# A file this small is read whole to tell "empty" (blank lines only) at once.
BLANK_SNIFF_BYTES = 4096


def upload_create(
    *,
    kind: str,
    files: Mapping[str, UploadedFile | None],
    options: dict[str, Any],
    created_by: User | None = None,
) -> Upload:
    """Check the files (present, named for their format, not empty, under the limit), keep them
    where the worker reads them, and queue the import once the row is committed."""
    registered = upload_kind(kind)
    checked = {
        role: upload_file_check(role=role, file=files.get(role), rule=rule)
        for role, rule in registered.files.items()
    }
    present = {role: file for role, file in checked.items() if file is not None}
    with transaction.atomic():
        upload = Upload.objects.create(
            kind=kind,
            options=options,
            files={role: stored_name(file) for role, file in present.items()},
            created_by=created_by,
        )
        try:
            for role, file in present.items():
                store(file, upload.path(role))
        except BaseException:
            shutil.rmtree(upload.folder(), ignore_errors=True)
            raise
        upload_id = upload.pk
        transaction.on_commit(lambda: upload_queue(upload_id))
    return upload


def upload_file_check(
    *, role: str, file: UploadedFile | None, rule: FileRule
) -> UploadedFile | None:
    if file is None:
        if rule.required:
            raise UploadRefused(f"Choose {rule.what} to upload (the field '{role}').", field=role)
        return None
    name = file.name or role
    if Path(name).suffix.lower() not in rule.extensions:
        raise UploadRefused(
            f"{name} cannot be read as {rule.what}: name it {' or '.join(rule.extensions)}.",
            field=role,
        )
    limit = settings.DEMUR_UPLOAD_MAX_BYTES
    if (file.size or 0) > limit:
        refusal = too_big(name, file.size)
        refusal.field = role
        raise refusal
    if not file.size or (file.size <= BLANK_SNIFF_BYTES and not file.read().strip()):
        raise UploadRefused(f"{name} is empty.", field=role)
    file.seek(0)
    return file


def stored_name(file: UploadedFile) -> str:
    """The file's own name made safe for the disk and kept short, with its extension (which
    upload_file_check allowed) always last: what the importer reads the format from."""
    original = Path(file.name or "file")
    try:
        stem = get_valid_filename(original.stem)
    except SuspiciousFileOperation:  # nothing of the name is left ("..", "§§")
        stem = ""
    suffix = original.suffix.lower()
    return (stem.strip(".")[: NAME_MAX_LENGTH - len(suffix)] or "file") + suffix


def store(file: UploadedFile, target: Path | None) -> None:
    """Move a file that Django already streamed to disk (a rename: FILE_UPLOAD_TEMP_DIR is in
    the upload root); write a small one that it kept in memory."""
    assert target is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = getattr(file, "temporary_file_path", None)
    if temporary is not None:
        file_move_safe(temporary(), str(target), allow_overwrite=False)
        return
    with target.open("wb") as out:
        for chunk in file.chunks():
            out.write(chunk)


def upload_queue(upload_id: int) -> None:
    # Through Celery's current app, which config/__init__.py sets up in every Django process.
    current_app.send_task(UPLOAD_TASK, args=[upload_id], queue=UPLOAD_QUEUE)


def upload_import(*, upload_id: int) -> None:
    """Run the kind's importer on the upload, once (a second message finds it claimed). It
    writes everything or nothing; the row then says what was imported or why not, and the
    files are removed (what matters is in the database now)."""
    if not Upload.objects.claim(upload_id):
        return
    upload = Upload.objects.select_related("created_by").get(pk=upload_id)
    progress_forget(upload_id)
    progress = ProgressReporter(upload_id)
    try:
        result = upload_kind(upload.kind).importer(upload, progress)
    except UploadImportError as error:
        upload_finish(upload, error=f"{without_folder(str(error), upload)} Nothing was imported.")
    except Exception as error:  # the person needs an answer whatever broke; the log keeps it
        log.exception("Upload %s (%s) failed", upload.pk, upload.kind)
        upload_finish(
            upload,
            error=(
                f"The import stopped on an unexpected error ({type(error).__name__}); nothing "
                "was imported. The worker's log has the details."
            ),
        )
    else:
        upload_finish(upload, done=progress.done, total=progress.total, result=result)
    finally:
        shutil.rmtree(upload.folder(), ignore_errors=True)
        progress_forget(upload_id)


def without_folder(message: str, upload: Upload) -> str:
    """Importers name the file by its path; the person knows it by its name."""
    return message.replace(f"{upload.folder()}/", "")


def upload_finish(
    upload: Upload,
    *,
    error: str = "",
    done: int = 0,
    total: int | None = None,
    result: UploadResult | None = None,
) -> None:
    """running -> done (with what was imported) or failed (with why not)."""
    fields: dict[str, Any] = {"finished_at": timezone.now()}
    if result is None:
        fields |= {"status": UploadStatus.FAILED, "error": error}
    else:
        fields |= {
            "status": UploadStatus.DONE,
            "summary": result.summary,
            "result_url": result.url,
            "result": result.data,
            "progress_done": done,
            "progress_total": total,
        }
    Upload.objects.filter(pk=upload.pk, status=UploadStatus.RUNNING).update(**fields)
