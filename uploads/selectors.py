"""Reads of uploads: the list, and how far one got."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from uploads.models import Upload, UploadStatus
from uploads.progress import progress_read
from uploads.registry import upload_kinds


@dataclass(frozen=True)
class UploadProgress:
    done: int
    total: int | None  # None: the file is still being read and checked

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def upload_list() -> QuerySet[Upload]:
    return Upload.objects.select_related("created_by")


def upload_progress(*, upload: Upload) -> UploadProgress:
    """The final count once it is over; the worker's latest report while it runs."""
    if upload.status == UploadStatus.RUNNING:
        return UploadProgress(*progress_read(upload.pk))
    if upload.status == UploadStatus.DONE:
        return UploadProgress(upload.progress_done, upload.progress_total)
    return UploadProgress(0, None)


def upload_kind_label(upload: Upload) -> str:
    kind = upload_kinds().get(upload.kind)
    return kind.label if kind is not None else upload.kind
