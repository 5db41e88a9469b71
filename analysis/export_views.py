from __future__ import annotations

import tempfile
from typing import cast

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from accounts.roles import researcher_required
from analysis.exports import CONSENSUS, ExportError, export_format, gold_export
from analysis.training import CONTENT_TYPE, TrainingExportError, min_quality_parse, training_export
from annotate.models import Campaign

YES = {"1", "true", "yes", "on"}


@researcher_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """``?format=jsonl|csv|parquet`` (default jsonl), ``?gold_only=1`` and ``?gold=`` (a gold
    policy, analysis/gold_policies.py; default the campaign's own): the campaign's items
    as a file. Text formats stream as they are read; a binary one (Parquet) is written to a
    temporary file first, then sent."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        fmt = export_format(request.GET.get("format", "jsonl"))
    except ExportError as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    try:
        export = gold_export(
            campaign=campaign,
            gold_only=request.GET.get("gold_only", "") in YES,
            gold_policy=request.GET.get("gold", CONSENSUS),
        )
    except ExportError as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    filename = fmt.filename(f"campaign-{campaign.pk}-gold")
    if fmt.streams:
        download = StreamingHttpResponse(fmt.pieces(export), content_type=fmt.content_type)
        download["Content-Disposition"] = f'attachment; filename="{filename}"'
        return _as_view_result(download)
    # Deleted when the response closes the file.
    file = tempfile.NamedTemporaryFile(suffix=f".{fmt.name}")  # noqa: SIM115
    fmt.write(export, file)
    file.seek(0)
    sent: StreamingHttpResponse = FileResponse(
        file, as_attachment=True, filename=filename, content_type=fmt.content_type
    )
    return _as_view_result(sent)


@researcher_required
@require_GET
def training_download(request: HttpRequest, pk: int) -> HttpResponse:
    """``?format=sft|dpo|kto|coconot-pref`` (default sft) and ``?min_quality=``: the campaign's
    gold labels as training data (analysis/training.py), JSON Lines streamed as it is read."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        export = training_export(
            campaign=campaign,
            format_name=request.GET.get("format", "sft"),
            min_quality=min_quality_parse(request.GET.get("min_quality"), name="min_quality"),
        )
    except TrainingExportError as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    download = StreamingHttpResponse(export.pieces(), content_type=CONTENT_TYPE)
    download["Content-Disposition"] = f'attachment; filename="{export.fmt.filename(campaign)}"'
    return _as_view_result(download)


def _as_view_result(response: StreamingHttpResponse) -> HttpResponse:
    # researcher_required is typed for views returning HttpResponse; Django serves any
    # HttpResponseBase, streaming responses included.
    return cast(HttpResponse, response)
