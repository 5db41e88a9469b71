"""Who is logged in, read on every request without the ORM compiling it (issue 17).

Django's ``ModelBackend`` reads the session's user with ``User.objects.get(pk=...)``: the ORM
compiles that query again on every request and PostgreSQL plans it again, about a tenth of a
label POST. ``UserBackend`` is the same backend (passwords, permissions, inactive users refused)
whose read of the user is written once per process and prepared (``accounts/joined.py``).

A session remembers the path of the backend that logged it in, and Django logs out a session
whose backend is no longer in ``AUTHENTICATION_BACKENDS``. Sessions logged in under
``ModelBackend``'s path, before this backend existed, are carried over to it by
``AuthenticationMiddleware`` instead of being logged out.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.joined import Joined, Part

USER_BACKEND = "accounts.backends.UserBackend"
# What Demur's sessions named before UserBackend: logged in, they stay logged in.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@functools.cache  # once per process: the model's field list does not change
def _user_by_id() -> Joined:
    user_model = get_user_model()
    where = f"u.{user_model._meta.pk.column} = %s"
    return Joined(parts=(Part("u", user_model, None),), where=where)


class UserBackend(ModelBackend):
    """Django's ModelBackend, the user of each request read by a prepared statement."""

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            primary_key = user_model._meta.pk.to_python(user_id)
        except ValidationError:  # not an id at all: nobody, as for an id that is no one's
            return None
        found = _user_by_id().fetch_one([primary_key])
        user = None if found is None else found["u"]
        return user if user is not None and self.user_can_authenticate(user) else None


def _carried_over(request: HttpRequest) -> HttpRequest:
    """The request, its session renamed to UserBackend where ModelBackend logged it in (saved
    with the response, once per session)."""
    if request.session.get(BACKEND_SESSION_KEY) == MODEL_BACKEND:
        request.session[BACKEND_SESSION_KEY] = USER_BACKEND
    return request


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's: ``request.user`` read lazily on first use, from a session carried over to
    UserBackend when an older version of Demur logged it in."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(  # type: ignore[assignment]
            lambda: auth_middleware.get_user(_carried_over(request))
        )
