"""The two ways an upload goes wrong, each one sentence for the person who sent the file."""

from __future__ import annotations

from django.conf import settings


class UploadRefused(ValueError):
    """Refused at once, before anything is stored: a missing field, a wrong extension, an empty
    file, one over the limit (status 413). ``field`` names the form or API field at fault."""

    def __init__(self, message: str, *, field: str = "file", status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


class UploadImportError(ValueError):
    """The worker found the file wanting (a bad line, an unknown id); nothing was imported.
    Importers raise it with their own error's sentence."""


def too_big(name: str, size: int | None = None) -> UploadRefused:
    limit = settings.DEMUR_UPLOAD_MAX_BYTES
    is_size = f" is {size / 1e6:.1f} MB," if size else " is"
    return UploadRefused(
        f"{name}{is_size} over the upload limit of {limit / 1e6:.0f} MB (DEMUR_UPLOAD_MAX_BYTES).",
        status=413,
    )
