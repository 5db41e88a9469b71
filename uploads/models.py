"""An uploaded file on its way into the database: what it is, where it waits, how far its
import got, and what came of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class UploadStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


FINISHED_UPLOAD_STATUSES = (UploadStatus.DONE, UploadStatus.FAILED)


class UploadQuerySet(models.QuerySet[Any]):
    def claim(self, pk: int) -> bool:
        """pending -> running: one conditional UPDATE, so a duplicated message imports once."""
        moved = self.filter(pk=pk, status=UploadStatus.PENDING).update(
            status=UploadStatus.RUNNING, started_at=timezone.now()
        )
        return bool(moved)


class Upload(models.Model):
    # A kind registered by the app that imports it (uploads.registry): benchmark, responses, …
    kind = models.CharField(max_length=40)
    status = models.CharField(
        max_length=20, choices=UploadStatus.choices, default=UploadStatus.PENDING
    )
    # {"file": "bench.jsonl", "rubric": "rubric.json"}: each file's name in the upload's folder.
    files = models.JSONField(default=dict)
    # What the importer needs besides the files: a slug and kind, a benchmark and model name…
    options = models.JSONField(default=dict)
    # Rows written of the rows the file holds, once the import is over (while it runs, progress
    # travels through the cache: see uploads.progress).
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    summary = models.TextField(blank=True, help_text="What was imported, for people.")
    result = models.JSONField(default=dict, blank=True, help_text="The same for the API.")
    result_url = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Upload {self.pk}: {self.kind} {self.file_name}"

    @property
    def file_name(self) -> str:
        return str(self.files.get("file", ""))

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_UPLOAD_STATUSES

    def folder(self) -> Path:
        return Path(settings.DEMUR_UPLOAD_ROOT) / str(self.pk)

    def path(self, role: str = "file") -> Path | None:
        """Where the worker reads the file sent as ``role``; None if none was sent."""
        name = self.files.get(role)
        return self.folder() / name if name else None
