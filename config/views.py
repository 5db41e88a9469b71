from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from config.roles import user_is_researcher


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


def login_locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a login refused for too many failures (AXES_LOCKOUT_CALLABLE): the
    page says what happened and when logins open again, with 429 Too Many Requests."""
    cool_off = settings.AXES_COOLOFF_TIME
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "until": timezone.now() + cool_off}
    locked = render(request, "registration/locked_out.html", context, status=429)
    locked["Retry-After"] = str(int(cool_off.total_seconds()))
    return locked
