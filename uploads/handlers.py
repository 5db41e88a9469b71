"""The first of FILE_UPLOAD_HANDLERS: a body larger than DEMUR_UPLOAD_MAX_BYTES is never stored.

Django streams a file part larger than FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file in
FILE_UPLOAD_TEMP_DIR (the upload root's ``incoming`` folder, so keeping it is a rename); this
handler stops at the first file when the request says it is too big, or once the files' bytes pass
the limit (a body sent without a length). What was read is dropped, the rest of the body is read
and discarded (so that the client gets the answer), and the view answers 413 with the sentence
(``upload_size_refusal``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from uploads.errors import UploadRefused, too_big

# What a multipart body holds besides the files: boundaries, headers, the other fields.
FORM_ALLOWANCE = 1024 * 1024
# Set in request.META when the body was refused for its size.
TOO_BIG = "demur.upload_too_big"


class UploadSizeLimit(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.seen = 0
        self.over = False

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        # Refused at the first file, not here: the fields before it (the CSRF token) are read.
        self.over = content_length > settings.DEMUR_UPLOAD_MAX_BYTES + FORM_ALLOWANCE

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.over:
            self.refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.seen += len(raw_data)
        if self.seen > settings.DEMUR_UPLOAD_MAX_BYTES:
            self.refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def refuse(self) -> None:
        if self.request is not None:
            self.request.META[TOO_BIG] = (self.field_name, self.file_name)
        raise StopUpload(connection_reset=False)


def upload_size_refusal(meta: Mapping[str, Any]) -> UploadRefused | None:
    """The 413 to answer if UploadSizeLimit refused the body of the request with this META
    (read it once the body is parsed: its files are then missing, and the fields after the
    first file too)."""
    refused = meta.get(TOO_BIG)
    if refused is None:
        return None
    field, name = refused
    refusal = too_big(name or "The file")
    refusal.field = field or "file"
    return refusal
