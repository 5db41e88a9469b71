"""Playwright fixtures that drive Debian's Chromium (never a browser Playwright downloads).

Every browser test runs against pytest-django's ``live_server``, so it is transactional: the
server thread must see the rows the test writes, which a wrapping transaction would hide.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.factories import PASSWORD

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
    from pytest_django.live_server_helper import LiveServer

# Playwright's sync API runs an asyncio event loop in the test's own thread, and Django refuses
# ORM calls from a thread with a running loop (SynchronousOnlyOperation), although every call
# the test makes is synchronous. Set before any test runs; it is read at each ORM call.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("DEMUR_CHROMIUM", "/usr/bin/chromium"))
# No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start. No
# background networking: the tests have no network, and the browser needs none.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Short enough that a missing element fails the test quickly instead of after Playwright's 30 s.
TIMEOUT_MS = 10_000


@dataclass
class BrowserSession:
    """A logged-in page, and every JavaScript error it has shown so far (tests assert on it)."""

    page: Page
    live_url: str
    errors: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.live_url + path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set DEMUR_CHROMIUM)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed (requirements/test.txt)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(autouse=True)
def browser_tests_have_role_groups(role_groups: None) -> None:
    """Every browser test logs somebody in, and every login needs its role's group."""


@pytest.fixture
def page_for(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., BrowserSession]]:
    """``page_for(user)``: a fresh browser context, logged in as ``user`` through the login form.

    Any JavaScript error (uncaught exception or ``console.error``) lands in ``session.errors``;
    one still there at teardown fails the test, so a test that expects one must clear the list.
    """
    contexts: list[BrowserContext] = []
    sessions: list[BrowserSession] = []

    def open_page(user: User, password: str = PASSWORD) -> BrowserSession:
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        # The site has no favicon; the browser's automatic request for one would log a 404 as a
        # console error that no page of ours caused.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        contexts.append(context)
        session = BrowserSession(page=context.new_page(), live_url=live_server.url)
        sessions.append(session)
        watch_errors(session)

        page = session.page
        page.goto(session.url("/accounts/login/"))
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if "/accounts/login/" in page.url:
            raise AssertionError(f"logging in as {user.username!r} failed: still on {page.url}")
        return session

    yield open_page

    for context in contexts:
        context.close()
    leftover = [error for session in sessions for error in session.errors]
    if leftover:
        pytest.fail("JavaScript errors in the browser:\n" + "\n".join(leftover))


def watch_errors(session: BrowserSession) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            session.errors.append(f"console.error at {message.location}: {message.text}")

    session.page.on("console", on_console)
    session.page.on("pageerror", lambda error: session.errors.append(f"uncaught: {error}"))
