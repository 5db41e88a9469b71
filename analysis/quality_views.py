"""The researchers' page on each annotator of a campaign (analysis/annotator_quality.py), where
they pause an annotator or leave their labels out of the figures."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.roles import researcher_required
from analysis.annotator_quality import annotator_quality
from analysis.charts import check_accuracy_over_time
from annotate.models import Campaign


@researcher_required
@require_GET
def annotators_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Researchers only: it names every annotator beside their figures."""
    campaign = get_object_or_404(Campaign, pk=pk)
    report = annotator_quality(campaign=campaign)
    chart = None
    if report.series:
        chart = check_accuracy_over_time(report.series, campaign.pause_below)
    context = {"campaign": campaign, "report": report, "chart": chart}
    return render(request, "analysis/annotators.html", context)
