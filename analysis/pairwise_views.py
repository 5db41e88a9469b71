"""The side-by-side report page of a pairwise campaign (analysis/pairwise_report.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.roles import researcher_required
from analysis.pairwise_report import pairwise_data, pairwise_report
from annotate.models import Campaign, CampaignKind
from annotate.selectors import demo_label_count


@researcher_required
@require_GET
def pairwise_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Not found for a campaign of single responses: its report is the agreement page."""
    campaign = get_object_or_404(Campaign, pk=pk, kind=CampaignKind.PAIRWISE)
    context = {
        "campaign": campaign,
        "report": pairwise_report(data=pairwise_data(campaign=campaign)),
        "demo_labels": demo_label_count(campaign=campaign),
    }
    return render(request, "analysis/pairwise.html", context)
