"""Flash messages are text, whatever a cookie claims; a request's fault is one log line, a
server's keeps its traceback. (The error pages themselves: tests/config/test_error_pages.py.)"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client, RequestFactory
from django.utils.safestring import mark_safe

from accounts.logs import OneLinePerRequestFault
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(42)</script>"


def forged_messages_cookie(text: str) -> str:
    """What anyone who knows SECRET_KEY can send: a signed messages cookie whose message is
    marked as safe HTML."""
    storage = CookieStorage(RequestFactory().get("/"))
    # The storage's own encoder (private; django-stubs omit it): signed, with the safe flag.
    return str(storage._encode([Message(constants.ERROR, mark_safe(text))]))  # type: ignore[attr-defined]


def test_a_forged_messages_cookie_with_a_script_shows_as_text() -> None:
    client = Client()
    client.force_login(UserFactory.create(role="annotator"))
    client.cookies["messages"] = forged_messages_cookie(SCRIPT)
    page = client.get("/annotate/")
    assert page.status_code == 200
    html = page.content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(42)&lt;/script&gt;" in html


def test_a_message_added_as_safe_html_in_code_is_still_escaped(rf: Any) -> None:
    from accounts.messages import TextMessageStorage

    request = rf.get("/")
    request.session = {}
    storage = TextMessageStorage(request)
    storage.add(constants.INFO, mark_safe("<b>bold</b>"))
    assert [type(message.message) for message in storage] == [str]


def test_a_403_is_one_log_line_and_a_500_keeps_its_traceback() -> None:
    fault = OneLinePerRequestFault()
    try:
        raise PermissionError("no")
    except PermissionError as error:
        forbidden = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x",),
            (type(error), error, error.__traceback__),
        )  # fmt: skip
        server_error = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", ("/x",),
            (type(error), error, error.__traceback__),
        )  # fmt: skip
    forbidden.status_code = 403
    server_error.status_code = 500
    assert fault.filter(forbidden) and fault.filter(server_error)
    formatter = logging.Formatter()
    assert formatter.format(forbidden) == "Forbidden: /x"
    assert "Traceback" in formatter.format(server_error)
