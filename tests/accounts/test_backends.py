"""Who a request's session belongs to (accounts/backends.py): Django's ModelBackend rules, the
user read by a prepared statement, and sessions logged in before it existed kept logged in."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.cached_db import SessionStore
from django.test import Client

from accounts.backends import MODEL_BACKEND, USER_BACKEND, UserBackend
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/annotate/"  # any page that needs a login: 200 logged in, else to the login form


def client_with_session(user: User, backend: str) -> tuple[Client, str]:
    """A browser holding a session that ``backend`` logged ``user`` in, as Django's login()
    stores it."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = backend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    client = Client()
    client.cookies["sessionid"] = store.session_key
    return client, store.session_key


def test_a_login_with_the_password_is_remembered_by_the_user_backend() -> None:
    UserFactory.create(username="ann", role="annotator")
    client = Client()
    answer = client.post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    assert answer.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == USER_BACKEND
    page = client.get(PAGE)
    assert page.status_code == 200 and page.context["user"].username == "ann"


def test_a_session_logged_in_before_the_user_backend_stays_logged_in_and_is_carried_over() -> None:
    person = UserFactory.create(username="ann", role="annotator")
    client, key = client_with_session(person, MODEL_BACKEND)
    page = client.get(PAGE)
    assert page.status_code == 200 and page.context["user"] == person
    assert SessionStore(session_key=key).load()[BACKEND_SESSION_KEY] == USER_BACKEND
    assert client.get(PAGE).status_code == 200


def test_a_session_of_a_backend_no_longer_configured_is_logged_out() -> None:
    person = UserFactory.create(username="ann", role="annotator")
    client, _ = client_with_session(person, "somewhere.else.Backend")
    answer = client.get(PAGE)
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_a_deactivated_user_or_a_changed_password_ends_the_session() -> None:
    deactivated = UserFactory.create(username="ann", role="annotator")
    changed = UserFactory.create(username="bob", role="annotator")
    first, _ = client_with_session(deactivated, USER_BACKEND)
    second, _ = client_with_session(changed, USER_BACKEND)
    assert first.get(PAGE).status_code == second.get(PAGE).status_code == 200
    User.objects.filter(pk=deactivated.pk).update(is_active=False)
    changed.set_password("another-password-42")
    changed.save()
    assert first.get(PAGE).status_code == second.get(PAGE).status_code == 302


def test_the_user_backend_reads_what_the_orm_reads() -> None:
    person = UserFactory.create(username="ann", role="researcher", email="ann@example.org")
    read = UserBackend().get_user(person.pk)
    expected = User.objects.get(pk=person.pk)
    assert read is not None
    fields = [field.attname for field in User._meta.concrete_fields]
    assert [getattr(read, name) for name in fields] == [getattr(expected, name) for name in fields]
    assert read.has_perm("annotate.view_campaign") == expected.has_perm("annotate.view_campaign")
    assert UserBackend().get_user(person.pk + 1000) is None
    assert UserBackend().get_user("not a number") is None
