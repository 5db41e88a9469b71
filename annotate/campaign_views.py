"""Researcher pages, at /campaigns/ (namespace ``campaigns``): create campaigns, watch progress,
review disagreements, set gold labels."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.encoding import iri_to_uri
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.numbers import whole_number
from accounts.roles import researcher_required
from annotate import selectors
from annotate.forms import CampaignForm, GoldForm, PlanForm, initial_from, pilot_campaigns
from annotate.label_budget import RESPONSES
from annotate.models import Campaign, CampaignStatus, Item, Turns
from annotate.plans import PlanError, budget_plan
from annotate.services.campaigns import CAMPAIGN_SETTINGS, campaign_create, campaign_status_set
from annotate.services.errors import CampaignError, LabelError
from annotate.services.gold import gold_set
from annotate.services.quality import standing_change
from annotate.targets import target_panel
from annotate.text import markdown_safe
from inference.models import GenerationRun
from runs.views import polling_partial


@researcher_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Every campaign, for researchers (an annotator's own list is ``views.your_campaigns``)."""
    show_archived = request.GET.get("archived") == "1"
    context = {
        "campaigns": selectors.campaign_list(archived=show_archived)[:200],
        "show_archived": show_archived,
        "archived_count": selectors.archived_campaign_count(),
    }
    return render(request, "annotate/campaign_list.html", context)


@researcher_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    if "refresh" in request.POST or "plan" in request.POST:
        # "Update the lists" or "Plan" (the page without JavaScript): the same form again, its
        # pick lists now those of the runs ticked, the plan under it, and nothing created or
        # complained about yet.
        form = CampaignForm(initial=initial_from(request.POST))
        context = {"form": form, **_plan_context(request.POST, planned="plan" in request.POST)}
        return render(request, "annotate/campaign_new.html", context)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaign_create(
                created_by=cast(User, request.user),
                **{key: data[key] for key in CAMPAIGN_SETTINGS},
            )
            return redirect("campaigns:detail", pk=campaign.pk)
        except CampaignError as error:
            form.add_error(error.field, str(error))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, **_plan_context(request.POST, planned=False)}
    return render(request, "annotate/campaign_new.html", context, status=status)


@researcher_required
@require_GET
def campaign_plan(request: HttpRequest) -> HttpResponse:
    """The planner's answer for what the campaign form holds so far (htmx swaps it in)."""
    return render(
        request, "annotate/campaign_new.html#plan", _plan_context(request.GET, planned=True)
    )


def _plan_context(data: QueryDict, *, planned: bool) -> dict[str, object]:
    """The planner's form and, once asked, its plan (or the one sentence why there is none)
    for the runs, categories and pilot the campaign form holds. An assumed accuracy, when
    given, is used instead of the pilot."""
    plan_form = PlanForm(data if planned else None, initial={"plan_target": 0.03})
    context: dict[str, object] = {"plan_form": plan_form}
    if not planned or not plan_form.is_valid():
        return context
    wanted = plan_form.cleaned_data
    runs_ids = [whole_number(value) for value in data.getlist("runs")]
    runs = list(GenerationRun.objects.filter(pk__in=[pk for pk in runs_ids if pk is not None]))
    pilot = None
    pilot_id = whole_number(data.get("pilot", ""))
    if wanted["plan_accuracy"] is None and pilot_id is not None:
        pilot = pilot_campaigns().filter(pk=pilot_id).first()
    if not runs:
        context["plan_error"] = "Tick at least one generation run to plan for."
        return context
    if wanted["plan_accuracy"] is None and pilot is None:
        context["plan_error"] = (
            "Choose a pilot campaign (under Sampling) or give an assumed accuracy: the plan "
            "needs to know how often the judge errs."
        )
        return context
    try:
        context["budget"] = budget_plan(
            runs=runs,
            judge=wanted["plan_judge"].label,
            target=wanted["plan_target"],
            pilot=pilot,
            accuracy=wanted["plan_accuracy"],
            seconds_per_label=wanted["plan_seconds"],
            categories=data.getlist("categories"),
            subcategories=data.getlist("subcategories"),
            exclude_truncated=data.get("exclude_truncated") in ("on", "true", "1"),
            population=wanted["plan_population"] or RESPONSES,
            turns=Turns.EVERY if data.get("turns") == Turns.EVERY else Turns.LAST,
        )
    except PlanError as error:
        context["plan_error"] = str(error)
    return context


@researcher_required
@require_GET
def campaign_picks(request: HttpRequest) -> HttpResponse:
    """The category and subcategory pick lists for the runs ticked so far (htmx swaps them in
    when runs or categories change)."""
    form = CampaignForm(initial=initial_from(request.GET))
    return render(request, "annotate/campaign_new.html#picks", {"form": form})


@researcher_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    context = {
        "campaign": campaign,
        "statuses": CampaignStatus,
        "progress": selectors.campaign_progress(campaign=campaign),
        "guidelines": markdown_safe(campaign.guidelines),
        "runs": campaign.runs.select_related("benchmark"),
        "target": target_panel(campaign),
    }
    return render(request, "annotate/campaign.html", context)


@researcher_required
@require_GET
def campaign_target(request: HttpRequest, pk: int) -> HttpResponse:
    """The Target panel, which htmx polls while the campaign is open; once it is not (or it
    has no target) the answer is 286 and polling stops."""
    campaign = get_object_or_404(Campaign, pk=pk)
    panel = target_panel(campaign)
    context = {"campaign": campaign, "target": panel}
    finished = panel is None or not panel.live
    return polling_partial(request, "annotate/campaign.html#target", context, finished)


# Messages after a status change: what it means for annotators.
STATUS_DONE = {
    CampaignStatus.OPEN: "Campaign reopened: annotators can label it again.",
    CampaignStatus.CLOSED: "Campaign closed: annotators see it as closed and can label no more.",
    CampaignStatus.ARCHIVED: "Campaign archived: closed, and hidden from annotators' lists and "
    "from the campaign list.",
}


@researcher_required
@require_POST
def campaign_status(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        campaign_status_set(campaign=campaign, status=request.POST.get("status", ""))
    except CampaignError as error:
        messages.error(request, str(error))
        return redirect("campaigns:detail", pk=campaign.pk)
    messages.success(request, STATUS_DONE[CampaignStatus(campaign.status)])
    return redirect("campaigns:detail", pk=campaign.pk)


# Messages after a researcher's decision about an annotator, by action.
STANDING_DONE = {
    "pause": "{name} is paused on this campaign: nothing more is served to them.",
    "resume": "{name} may label again; the pause rule counts only their checks from now on.",
    "exclude": "{name}'s labels are left out of every figure and gold label; each item they "
    "labelled has a free slot for another annotator.",
    "include": "{name}'s labels count in the figures again.",
}


@researcher_required
@require_POST
def standing_post(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    """Pause or let continue one annotator, exclude or count again their labels."""
    campaign = get_object_or_404(Campaign, pk=pk)
    annotator = get_object_or_404(User, pk=user_pk)
    action = request.POST.get("action", "")
    try:
        standing_change(
            campaign=campaign, annotator=annotator, action=action, by=cast(User, request.user)
        )
        messages.success(request, STANDING_DONE[action].format(name=annotator.username))
    except CampaignError as error:
        messages.error(request, str(error))
    return HttpResponseRedirect(_back(request, default=f"/campaigns/{pk}/"))


@researcher_required
@require_GET
def review(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    reveal = request.GET.get("verdicts") == "1"
    # Unsettled disagreements (no gold label yet) unless the researcher asks for all of them.
    show_all = request.GET.get("show") == "all"
    one_item = whole_number(request.GET.get("item", ""))
    if one_item is not None:
        get_object_or_404(Item, pk=one_item, campaign=campaign)  # another campaign's: not found
    rows = selectors.review_rows(
        campaign=campaign, reveal_verdicts=reveal, item_id=one_item, unsettled_only=not show_all
    )
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    item_query = f"item={one_item}&" if one_item is not None else ""
    show_query = "show=all&" if show_all else ""
    context = {
        "campaign": campaign,
        "page": page,
        "reveal": reveal,
        "show_all": show_all,
        "counts": selectors.review_counts(campaign=campaign),
        "one_item": one_item,
        "item_query": item_query,
        "show_query": show_query,
        "page_query": ("&show=all" if show_all else "") + ("&verdicts=1" if reveal else ""),
    }
    return render(request, "annotate/review.html", context)


@researcher_required
@require_POST
def gold_post(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = get_object_or_404(Item.objects.select_related("campaign"), pk=item_pk, campaign_id=pk)
    form = GoldForm(request.POST)
    try:
        if not form.is_valid():
            raise LabelError("Give a label and a reason for the gold label.")
        gold_set(
            item=item,
            value=form.cleaned_data["value"],
            reason=form.cleaned_data["reason"],
            user=cast(User, request.user),
        )
        messages.success(request, f"Gold label set for item {item.pk}.")
    except LabelError as error:
        messages.error(request, f"Item {item.pk}: {error}")
    return HttpResponseRedirect(_back(request, default=f"/campaigns/{pk}/review/"))


def _back(request: HttpRequest, *, default: str) -> str:
    """Where the form's ``next`` field says to go back to: a path on this site, else
    ``default``. Never a view name (``redirect`` would try to reverse one), never elsewhere."""
    try:
        back = iri_to_uri(request.POST.get("next", ""))
    except UnicodeError:  # a lone surrogate has no URL form
        return default
    on_site = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return back if on_site and back.startswith("/") else default
