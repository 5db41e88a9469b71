from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


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
