"""The researchers' checks page, at /campaigns/<pk>/checks/ (namespace ``campaigns``): the
campaign's checks (gold questions and attention checks) with how annotators answered them, its
quality-control settings, and forms that add checks (annotate/services/checks.py).

Each form posts to its own URL; done, it redirects back with a message; refused, the page comes
again with that form's errors beside its fields and status 400."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import researcher_required
from annotate.forms import (
    AttentionChecksForm,
    GoldChecksForm,
    QualitySettingsForm,
    WrittenChecksForm,
)
from annotate.models import Campaign, CheckKind
from annotate.services.checks import (
    QUALITY_SETTINGS,
    ChecksAdded,
    check_counts,
    check_items,
    checks_attention,
    checks_from_gold,
    checks_written,
    quality_settings_set,
)
from annotate.services.errors import CheckError

CHECKS_PER_PAGE = 50


def _page(
    request: HttpRequest, campaign: Campaign, *, status: int = 200, **bound: forms.Form
) -> HttpResponse:
    """The checks page; ``bound`` holds the posted form that was refused, by its context
    name, so that it shows what was typed and why it was refused."""
    counts = check_counts(campaign)
    context: dict[str, Any] = {
        "campaign": campaign,
        "page": Paginator(check_items(campaign), CHECKS_PER_PAGE).get_page(request.GET.get("page")),
        "counts": counts,
        "check_total": sum(counts.values()),
        "kinds": CheckKind,
        "settings_form": QualitySettingsForm(
            initial={name: getattr(campaign, name) for name in QUALITY_SETTINGS}
        ),
        "gold_form": GoldChecksForm(campaign=campaign),
        "attention_form": AttentionChecksForm(),
        "written_form": WrittenChecksForm(),
    } | bound
    return render(request, "annotate/checks.html", context, status=status)


def _refused(form: forms.Form, error: CheckError) -> None:
    """The service's sentence beside the field it names, when the form has that field."""
    form.add_error(error.field if error.field in form.fields else None, str(error))


def _added(request: HttpRequest, campaign: Campaign, added: ChecksAdded) -> HttpResponse:
    sentence = added.sentence
    if campaign.check_every is None:
        sentence += " Annotators see no checks until you set how often (Check every)."
    messages.success(request, sentence)
    return redirect("campaigns:checks", pk=campaign.pk)


@researcher_required
@require_GET
def checks_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, get_object_or_404(Campaign, pk=pk))


@researcher_required
@require_POST
def quality_settings_post(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = QualitySettingsForm(request.POST)
    if form.is_valid():
        try:
            quality_settings_set(campaign=campaign, **form.cleaned_data)
            messages.success(request, "Quality-control settings saved.")
            return redirect("campaigns:checks", pk=campaign.pk)
        except CheckError as error:
            _refused(form, error)
        # The page shows the campaign as stored, not the values that were refused.
        campaign.refresh_from_db()
    return _page(request, campaign, status=400, settings_form=form)


@researcher_required
@require_POST
def gold_checks_post(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = GoldChecksForm(request.POST, campaign=campaign)
    if form.is_valid():
        data = form.cleaned_data
        try:
            added = checks_from_gold(
                campaign=campaign,
                source_campaign=data["source"],
                count=data["count"],
                adjudicated_only=data["adjudicated_only"],
                seed=data["seed"],
            )
            return _added(request, campaign, added)
        except CheckError as error:
            _refused(form, error)
    return _page(request, campaign, status=400, gold_form=form)


@researcher_required
@require_POST
def attention_checks_post(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = AttentionChecksForm(request.POST)
    if form.is_valid():
        try:
            added = checks_attention(
                campaign=campaign, count=form.cleaned_data["count"], seed=form.cleaned_data["seed"]
            )
            return _added(request, campaign, added)
        except CheckError as error:
            _refused(form, error)
    return _page(request, campaign, status=400, attention_form=form)


@researcher_required
@require_POST
def written_checks_post(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = WrittenChecksForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            added = checks_written(
                campaign=campaign,
                jsonl=form.cleaned_data["jsonl"],
                created_by=cast(User, request.user),
            )
            return _added(request, campaign, added)
        except CheckError as error:
            form.add_error(form.cleaned_data["given_as"], str(error))
    return _page(request, campaign, status=400, written_form=form)
