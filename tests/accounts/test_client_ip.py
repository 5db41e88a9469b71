"""Whose address the login limits and the throttle count: the connection's, unless trusted
proxies are configured, and then never an entry the client wrote itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from accounts.client_ip import client_ip

FORWARDED = "198.51.100.7, 203.0.113.1"  # the client wrote the first, its proxy the second


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [(0, "10.0.0.2"), (1, "203.0.113.1"), (2, "198.51.100.7"), (5, "198.51.100.7")],
)
def test_the_client_address_follows_the_number_of_trusted_proxies(
    proxies: int, expected: str, settings: Any
) -> None:
    settings.DEMUR_NUM_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=FORWARDED)
    assert client_ip(request) == expected


def test_without_a_forwarded_header_it_is_the_connections_address(settings: Any) -> None:
    settings.DEMUR_NUM_PROXIES = 1
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def test_the_api_throttle_counts_the_same_address(settings: Any) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=FORWARDED)
    assert api_settings.NUM_PROXIES == settings.DEMUR_NUM_PROXIES == 0
    assert ScopedRateThrottle().get_ident(Request(request)) == client_ip(request) == "10.0.0.2"
