"""The page a login gets once too many failed tries paused logins (django-axes' lock-out, answered
by accounts.views.login_locked_out): what happened, when to try again, 429 and Retry-After.
The real multi-process server's limits are in tests/config/test_login_limits.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_after_the_failure_limit_even_the_right_password_gets_the_lock_out_page(
    settings: Any,
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=5)
    UserFactory.create(username="ann", role="annotator")
    client = Client()
    first = client.post(LOGIN, {"username": "ann", "password": "wrong"})
    assert first.status_code == 200  # the form again, with its error
    client.post(LOGIN, {"username": "ann", "password": "wrong again"})
    locked = client.post(LOGIN, {"username": "ann", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked["Retry-After"] == "300"
    text = locked.content.decode()
    assert "Too many failed logins" in text
    assert "paused after 2 failed tries: try again in" in text
    assert "_auth_user_id" not in client.session
