"""Annotator pages, at /annotate/ (namespace ``annotate``): their campaigns and the labeling
screen (keyboard first)."""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.numbers import MAX_ID, whole_number
from accounts.validation import UnstorableInput, json_loads
from annotate.models import Assignment, Campaign
from annotate.selectors import (
    Screen,
    annotator_progress_for_bar,
    campaign_for_annotator,
    campaigns_for_annotator,
    last_labelled,
    screen_for,
)
from annotate.services.errors import LabelError
from annotate.services.labels import label_submit
from annotate.services.quality import annotator_pause_reason
from annotate.services.serving import assignment_next, assignment_skip
from annotate.targets import overall_target_met
from annotate.text import markdown_safe


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _ints(raw: str, field: str) -> list[int]:
    try:
        numbers = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as error:
        raise LabelError(f"Field {field!r} must hold whole numbers.") from error
    if any(abs(number) > MAX_ID for number in numbers):
        # Ids are 64-bit: a larger number names nothing, and the database would refuse it.
        raise LabelError(f"Field {field!r} holds a number beyond {MAX_ID:,}.")
    return numbers


def _one_int(request: HttpRequest, field: str) -> int:
    values = _ints(request.POST.get(field, ""), field)
    if len(values) != 1:
        raise LabelError(f"Field {field!r} must be one whole number.")
    return values[0]


def _answers(request: HttpRequest) -> dict[str, Any]:
    """The ``answers`` field: the answers to the scheme's questions as a JSON object (empty when
    the scheme asks none)."""
    raw = request.POST.get("answers", "") or "{}"
    try:
        answers = json_loads(raw, what="the answers field")
    except (json.JSONDecodeError, UnstorableInput) as error:
        raise LabelError(f"Field 'answers' must be a JSON object ({error}).") from None
    if not isinstance(answers, dict):
        raise LabelError("Field 'answers' must be a JSON object of question id to answer.")
    return answers


def _screen(campaign: Campaign, assignment_id: int) -> Screen:
    """What the annotator sees of an item: a pairwise campaign's two responses, or one."""
    return screen_for(assignment_id=assignment_id, pairwise=campaign.is_pairwise)


def _next_partial(
    request: HttpRequest, campaign: Campaign, exclude: list[int], labelled: int | None = None
) -> HttpResponse:
    """The item to hold ahead of the one now on screen, plus the annotator's bar (out of band);
    ``labelled``: their count of labelled items, where the label just stored told it."""
    upcoming = assignment_next(campaign=campaign, user=_user(request), exclude=exclude)
    context = {
        "campaign": campaign,
        "screen": _screen(campaign, upcoming.pk) if upcoming else None,
        # Nothing more for them: counted, so that the bar agrees with the screen.
        "progress": annotator_progress_for_bar(
            campaign=campaign, user=_user(request), recount=upcoming is None, labelled=labelled
        ),
        "paused_reason": None if upcoming else _paused_reason(campaign, request),
        "target_met": None if upcoming else overall_target_met(campaign),
    }
    response = render(request, "annotate/label.html#upcoming", context)
    return _paused_marked(response, context["paused_reason"] is not None)


# The labeling screen reloads on a response with this header, to show why nothing more comes.
PAUSED_HEADER = "Demur-Paused"


def _paused_marked(response: HttpResponse, paused: bool) -> HttpResponse:
    if paused:
        response[PAUSED_HEADER] = "1"
    return response


def _paused_reason(campaign: Campaign, request: HttpRequest) -> str | None:
    """Why nothing more is served, when it is because the annotator is paused."""
    return annotator_pause_reason(campaign=campaign, user=_user(request))


@login_required
@require_GET
def your_campaigns(request: HttpRequest) -> HttpResponse:
    """The campaigns this annotator labels (the researchers' list is ``campaign_list``)."""
    campaigns = campaigns_for_annotator(user=_user(request))
    return render(request, "annotate/your_campaigns.html", {"campaigns": campaigns})


@login_required
@require_GET
def label_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_for_annotator(pk=pk, user=_user(request))
    current = assignment_next(campaign=campaign, user=_user(request))
    ahead = (
        assignment_next(campaign=campaign, user=_user(request), exclude=[current.pk])
        if current
        else None
    )
    context = {
        "campaign": campaign,
        "guidelines": markdown_safe(campaign.guidelines),
        "current": _screen(campaign, current.pk) if current else None,
        "ahead": _screen(campaign, ahead.pk) if ahead else None,
        "progress": annotator_progress_for_bar(
            campaign=campaign, user=_user(request), recount=True
        ),
        "paused_reason": None if current else _paused_reason(campaign, request),
        "target_met": None if current else overall_target_met(campaign),
    }
    return render(request, "annotate/label.html", context)


@login_required
@require_POST
def label_post(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_for_annotator(pk=pk, user=_user(request))
    try:
        stored = label_submit(
            campaign=campaign,
            user=_user(request),
            assignment_id=_one_int(request, "assignment"),
            item_id=_one_int(request, "item"),
            value=request.POST.get("value", ""),
            answers=_answers(request),
            note=request.POST.get("note", "")[:5000],
            ticket=request.POST.get("ticket", ""),
            time_spent_ms=(_ints(request.POST.get("time_spent_ms", "0"), "time_spent_ms") or [0])[
                0
            ],
        )
        exclude = _ints(request.POST.get("on_screen", ""), "on_screen")
    except LabelError as error:
        refused = HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
        return _paused_marked(refused, _paused_reason(campaign, request) is not None)
    return _next_partial(request, campaign, exclude, labelled=stored.annotator_labelled)


@login_required
@require_POST
def skip_post(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_for_annotator(pk=pk, user=_user(request))
    try:
        exclude = _ints(request.POST.get("on_screen", ""), "on_screen")
        assignment_skip(
            campaign=campaign, user=_user(request), assignment_id=_one_int(request, "assignment")
        )
    except LabelError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    return _next_partial(request, campaign, exclude)


@login_required
@require_GET
def undo_partial(request: HttpRequest, pk: int) -> HttpResponse:
    """The annotator's last label, editable; ``before`` walks further back."""
    campaign = campaign_for_annotator(pk=pk, user=_user(request))
    before = whole_number(request.GET.get("before", ""))
    previous: Assignment | None = last_labelled(
        campaign=campaign, user=_user(request), before=before
    )
    if previous is None:
        return HttpResponse(status=204)
    context = {"campaign": campaign, "screen": _screen(campaign, previous.pk)}
    return render(request, "annotate/label.html#item", context)
