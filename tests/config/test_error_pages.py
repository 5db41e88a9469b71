"""Error pages are the site's own pages, with navigation and the reason."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_403_is_the_sites_page_with_navigation_and_the_reason() -> None:
    client = Client()
    annotator = UserFactory.create(role="annotator")
    client.force_login(annotator)
    page = client.get("/benchmarks/")
    assert page.status_code == 403
    html = page.content.decode()
    assert "This page is for researchers." in html
    assert 'href="/annotate/"' in html  # the navigation
    assert "Log out" in html
    assert annotator.username in html


def test_a_404_is_the_sites_page_too() -> None:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    assert "There is nothing at /no/such/page/." in page.content.decode()
    assert 'href="/benchmarks/"' in page.content.decode()


def test_a_form_sent_without_its_csrf_token_gets_the_sites_page_saying_why() -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.post("/accounts/login/", {"username": "someone", "password": "x"})
    assert page.status_code == 403
    assert "without a valid security token" in page.content.decode()
    assert 'href="/"' in page.content.decode()  # the site's header
