"""The username django-axes counts failed logins under.

Django's login form never checks the username's length (it sets ``max_length`` after the field
is built, so no validator enforces it), and a username longer than django-axes' 255-character
column made a failed login a server error. Counting it under its first 255 characters keeps the
lock-out working: no user has a longer name (Django allows 150), so no real account is affected.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

# django-axes' AccessAttempt.username and AccessFailureLog.username: CharField(max_length=255).
AXES_USERNAME_LENGTH = 255


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The username of a login attempt, as django-axes' default reads it (the credentials, else
    the form), cut to what its tables hold."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "data", request.POST).get("username")
    return None if username is None else str(username)[:AXES_USERNAME_LENGTH]
