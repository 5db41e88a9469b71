"""A real gunicorn (several worker processes) on pytest's test database, for the tests that
depend on what only a real server does: client addresses, limits shared between processes,
headers behind a proxy, and what it writes to its log."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.db import connection

from tests.processes import Background


def server_env(tmp_path: Path, static_root: Path, **extra: str) -> dict[str, str]:
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DEMUR_DATA_DIR=str(tmp_path),
        DJANGO_STATIC_ROOT=str(static_root),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int = 2) -> Iterator[Background]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "config.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--access-logfile", "-", "--log-level", "warning",
    ]  # fmt: skip
    server = Background(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_for(
            lambda: requests.get(base + "/healthz", timeout=5).status_code == 200,
            timeout=60,
            what="gunicorn answering",
        )
        yield server
    finally:
        server.kill()


def form_login(
    base: str, username: str, password: str, session: requests.Session | None = None
) -> requests.Response:
    """The login form as a browser sends it: the page first (for the CSRF cookie), then the
    POST. Redirects are not followed, so a successful login is a 302."""
    session = session or requests.Session()
    page = session.get(base + "/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, page.text
    return session.post(
        base + "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": base + "/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )


def logged_in_session(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    answer = form_login(base, username, password, session)
    assert answer.status_code == 302, answer.text
    return session
