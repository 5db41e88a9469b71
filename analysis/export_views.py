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

from analysis.exports import (
    ExportError,
    csv_pieces,
    format_check,
    gold_export,
    jsonl_pieces,
    write_parquet,
)
from annotate.models import Campaign
from config.roles import researcher_required

CONTENT_TYPES = {
    "jsonl": "application/x-ndjson; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
YES = {"1", "true", "yes", "on"}


@researcher_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """``?format=jsonl|csv|parquet`` (default jsonl) and ``?gold_only=1``: the campaign's items
    as a file. JSON Lines and CSV stream as they are read; Parquet is written to a temporary
    file first (its footer comes last), then sent."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        fmt = format_check(request.GET.get("format", "jsonl"))
    except ExportError as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    export = gold_export(campaign=campaign, gold_only=request.GET.get("gold_only", "") in YES)
    filename = f"campaign-{campaign.pk}-gold.{fmt}"
    if fmt == "parquet":
        # Deleted when the response closes the file.
        file = tempfile.NamedTemporaryFile(suffix=".parquet")  # noqa: SIM115
        write_parquet(export.rows(), file, export.annotators, export.judges)
        file.seek(0)
        download: StreamingHttpResponse = FileResponse(
            file, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[fmt]
        )
        return _as_view_result(download)
    if fmt == "csv":
        pieces = csv_pieces(export.rows(), export.annotators, export.judges)
    else:
        pieces = jsonl_pieces(export.rows())
    download = StreamingHttpResponse(pieces, content_type=CONTENT_TYPES[fmt])
    download["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _as_view_result(download)


def _as_view_result(response: StreamingHttpResponse) -> HttpResponse:
    # researcher_required is typed for views returning HttpResponse; Django serves any
    # HttpResponseBase, streaming responses included.
    return cast(HttpResponse, response)
