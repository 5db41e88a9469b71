"""An upload's page: its progress bar while the worker imports it, then what was imported or
why nothing was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.roles import researcher_required
from uploads.errors import UploadRefused
from uploads.handlers import upload_size_refusal
from uploads.models import Upload
from uploads.selectors import upload_kind_label, upload_list, upload_progress

# htmx stops polling when a response has this status (htmx docs: "286 Stop Polling"); runs/
# answers the same for runs, but sits above this app.
HTMX_STOP_POLLING = 286


@researcher_required
@require_GET
def uploads(request: HttpRequest) -> HttpResponse:
    rows = [(upload, upload_kind_label(upload)) for upload in upload_list()[:100]]
    return render(request, "uploads/list.html", {"rows": rows})


@researcher_required
@require_GET
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = get_object_or_404(Upload.objects.select_related("created_by"), pk=pk)
    return render(request, "uploads/upload.html", upload_context(upload))


@researcher_required
@require_GET
def upload_progress_partial(request: HttpRequest, pk: int) -> HttpResponse:
    upload = get_object_or_404(Upload, pk=pk)
    response = render(request, "uploads/upload.html#progress", upload_context(upload))
    if upload.is_finished:
        response.status_code = HTMX_STOP_POLLING
    return response


def upload_context(upload: Upload) -> dict[str, object]:
    return {
        "upload": upload,
        "label": upload_kind_label(upload),
        "progress": upload_progress(upload=upload),
    }


def upload_from_form(
    request: HttpRequest, form: forms.Form, start: Callable[[dict[str, Any]], Upload]
) -> tuple[Upload | None, int]:
    """The upload form of a page (benchmarks, runs, verdicts): the upload ``start`` made from
    the form's data, or None and the status to show the form again with its one sentence (413
    for a file over the limit, else 400)."""
    valid = form.is_valid()  # the form holds request.POST: the body is parsed now
    refusal = upload_size_refusal(request.META)
    if refusal is not None:  # the one sentence: fields after the file were never read
        form.errors.clear()
        form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
        return None, refusal.status
    if not valid:
        return None, 400
    try:
        return start(form.cleaned_data), 0
    except UploadRefused as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return None, error.status
