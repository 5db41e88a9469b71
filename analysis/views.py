"""Researcher report pages: compliance per category, and judges against people."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.numbers import whole_number
from accounts.roles import researcher_required
from analysis.gold_policies import GOLD_POLICIES, gold_policy_parse
from analysis.question_reports import refusal_charts, refusal_report
from analysis.reports import (
    agreement_charts,
    agreement_report,
    run_report,
    run_report_chart,
    run_report_turn_chart,
)
from analysis.selectors import campaign_answers, campaign_data, runs_for_report
from annotate.models import Campaign
from annotate.selectors import demo_label_count
from inference.selectors import run_list


@researcher_required
@require_GET
def run_report_page(request: HttpRequest) -> HttpResponse:
    numbers = (whole_number(raw) for raw in request.GET.getlist("run"))
    chosen = [number for number in numbers if number is not None]
    context: dict[str, object] = {"all_runs": run_list()[:200], "chosen": chosen}
    if chosen:
        report = run_report(runs=list(runs_for_report(pks=chosen)))
        context |= {
            "report": report,
            "chart": run_report_chart(report),
            "turn_chart": run_report_turn_chart(report),
        }
    return render(request, "analysis/run_report.html", context)


@researcher_required
@require_GET
def agreement_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    run_labels = {run.pk: f"#{run.pk} {run.model_name}" for run in campaign.runs.all()}
    report = agreement_report(
        # Only the items a figure reads: a million-item campaign has few labelled.
        data=campaign_data(campaign=campaign, labelled_only=True),
        run_labels=run_labels,
        gold_policy=gold_policy_parse(request.GET.get("gold")),
    )
    context = {
        "campaign": campaign,
        "report": report,
        "policies": GOLD_POLICIES,
        "charts": agreement_charts(report),
        "demo_labels": demo_label_count(campaign=campaign),
    }
    return render(request, "analysis/agreement.html", context)


@researcher_required
@require_GET
def refusal_page(request: HttpRequest, pk: int) -> HttpResponse:
    """How models refuse: per model and category, what their refusals do, and how well."""
    campaign = get_object_or_404(Campaign, pk=pk)
    run_titles = {run.pk: f"{run.model_name} (run {run.pk})" for run in campaign.runs.all()}
    data = campaign_data(campaign=campaign)
    report = refusal_report(data=data, answers=campaign_answers(data=data), run_titles=run_titles)
    context = {
        "campaign": campaign,
        "report": report,
        "charts": refusal_charts(report),
        "demo_labels": demo_label_count(campaign=campaign),
    }
    return render(request, "analysis/refusals.html", context)
