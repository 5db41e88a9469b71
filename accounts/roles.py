"""Who may do what. The one place that knows how roles map onto Django users and groups.

Three roles: annotators label items of their own campaigns, researchers do everything but user
administration, admins (superusers) do everything. Roles are Django groups, created by this
app's migration (``accounts/migrations/0001_role_groups.py``) so that they exist right after
``migrate``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.request import Request
    from rest_framework.views import APIView

ANNOTATOR = "annotator"
RESEARCHER = "researcher"
ROLE_GROUPS = (ANNOTATOR, RESEARCHER)

View = TypeVar("View", bound=Callable[..., HttpResponse])


def user_is_researcher(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return _in_group(user, RESEARCHER)


def user_is_annotator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_authenticated and _in_group(user, ANNOTATOR)


def _in_group(user: Any, name: str) -> bool:
    # Cached per user object: a page asks several times and each ask would be a query.
    cache: dict[str, bool] | None = getattr(user, "_demur_groups", None)
    if cache is None:
        names = set(user.groups.values_list("name", flat=True))
        cache = {group: group in names for group in ROLE_GROUPS}
        user._demur_groups = cache
    return cache.get(name, False)


def researcher_required(view: View) -> View:
    """Login first (anonymous users go to the login page), then refuse non-researchers with 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_researcher(request.user):
            raise PermissionDenied("This page is for researchers.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)  # type: ignore[return-value]


class IsResearcher(BasePermission):
    """API access: researchers and admins only; annotators get nothing from the API."""

    message = "The API is for researchers and admins."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_researcher(request.user)


def user_ensure(*, username: str, password: str | None, role: str) -> Any:
    """Create the user, or reset their password and role; ``role`` is annotator, researcher or
    admin (a superuser). A password of None makes an account nobody can log in to."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    if role not in (*ROLE_GROUPS, "admin"):
        raise ValueError(f"Unknown role '{role}'; use annotator, researcher or admin.")
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    # Researchers are staff so that they reach the admin, where accounts.admin gives them the data
    # models but not users and groups.
    user.is_superuser = role == "admin"
    user.is_staff = role in ("admin", RESEARCHER)
    user.save()
    user.groups.set(Group.objects.filter(name=role))
    return user


def roles_context(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    # Callables, which templates call only when they read them: the navigation asks, but an
    # htmx fragment (the labeling screen's next item) does not and so costs no groups query.
    return {
        "is_researcher": lambda: user_is_researcher(request.user),
        "is_annotator": lambda: user_is_annotator(request.user),
    }
