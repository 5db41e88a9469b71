"""The import of an upload, on the `default` queue (uploads/services.py queues it by name)."""

from __future__ import annotations

from celery import shared_task

from uploads.services import UPLOAD_TASK, upload_import


@shared_task(acks_late=True, name=UPLOAD_TASK)
def upload_import_task(upload_id: int) -> None:
    upload_import(upload_id=upload_id)
