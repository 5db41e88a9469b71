"""Playwright fixtures that drive Debian's Chromium (never a browser Playwright downloads).

Every browser test runs against pytest-django's ``live_server``, so it is transactional: the
server thread must see the rows the test writes, which a wrapping transaction would hide.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.factories import PASSWORD

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

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
    serialize_requests_on_a_shared_connection(live_server)
    # Request threads serving another client's kept-alive connection (an earlier test's) are not
    # this test's to wait for: they end when that client goes, maybe never.
    earlier = set(request_threads())
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
    wait_for_request_threads(earlier)
    leftover = [error for session in sessions for error in session.errors]
    if leftover:
        pytest.fail("JavaScript errors in the browser:\n" + "\n".join(leftover))


def watch_errors(session: BrowserSession) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            session.errors.append(f"console.error at {message.location}: {message.text}")

    session.page.on("console", on_console)
    session.page.on("pageerror", lambda error: session.errors.append(f"uncaught: {error}"))


def serialize_requests_on_a_shared_connection(live_server: LiveServer) -> None:
    """On in-memory SQLite, handle the live server's requests one at a time.

    The test database is then in-memory, and Django hands every request thread of the live
    server the test's one connection: two requests at once (two browsers, or a page's label
    and its next request) would interleave their transactions on it and fail with errors such
    as "cannot release savepoint". A real SQLite file gives each thread its own connection and
    queues writers (IMMEDIATE transactions), so requests one at a time is what it does anyway;
    on PostgreSQL nothing is shared and requests run really at once.
    """
    thread = live_server.thread
    if not thread.connections_override:
        return
    app = thread.httpd.get_app()
    if app is None or getattr(app, "one_at_a_time", False):
        return
    lock = threading.Lock()

    def one_at_a_time(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with lock:
            response = app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()

    one_at_a_time.one_at_a_time = True  # type: ignore[attr-defined]
    thread.httpd.set_app(one_at_a_time)


def request_threads() -> list[threading.Thread]:
    # Python names a thread after its target: "Thread-7 (process_request_thread)".
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.endswith("(process_request_thread)")
    ]


def wait_for_request_threads(earlier: Collection[threading.Thread] = ()) -> None:
    """Let the live server's request threads end once the browser has closed their connections.

    A thread serving a kept-alive connection outlives the page by a few milliseconds and then
    closes its database connection. Left running, it can do so while the next test empties the
    tables or, after the last test, once the live server has stopped sharing the in-memory
    SQLite connection with its threads ("DatabaseWrapper objects created in a thread can only be
    used in that same thread", reported as an exception in a thread).
    """
    for thread in request_threads():
        if thread not in earlier:
            thread.join(timeout=TIMEOUT_MS / 1000)
