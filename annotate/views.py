from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate.selectors import campaigns_for_annotator


@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = campaigns_for_annotator(user=cast(User, request.user))
    return render(request, "annotate/campaigns.html", {"campaigns": campaigns})
