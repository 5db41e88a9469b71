"""The site's own two views: where `/` leads, and the health check. Everything a person does
lives in an app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from accounts.roles import user_is_researcher


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Researchers start from their benchmarks, everybody else from their labelling queue."""
    if user_is_researcher(request.user):
        return redirect("benchmarks:list")
    return redirect("annotate:campaigns")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and docker-compose healthchecks: the process answers and the DB too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
