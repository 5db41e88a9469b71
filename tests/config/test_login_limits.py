"""Password guessing against a real gunicorn with several worker processes: the limits count
by username and by the client's real address (never a forwarded address the client wrote),
on the login form and the API token endpoint alike, and a lock-out ends by itself."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from axes.models import AccessAttempt

from tests.config.real_server import form_login, gunicorn, server_env
from tests.factories import PASSWORD, UserFactory
from tests.processes import manage

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LIMIT = 5
COOL_OFF_SECONDS = 8


def token(base: str, username: str, password: str, forwarded_for: str) -> requests.Response:
    return requests.post(
        base + "/api/token/",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=10,
    )


def test_guessing_is_limited_per_username_and_real_address_on_the_api_and_the_form(
    tmp_path: Path, free_port: int, role_groups: None, static_root: Path
) -> None:
    researcher = UserFactory.create(role="researcher")
    annotator = UserFactory.create(role="annotator")
    other = UserFactory.create(role="annotator")
    env = server_env(
        tmp_path,
        static_root,
        DEMUR_LOGIN_FAILURE_LIMIT=str(LIMIT),
        DEMUR_LOGIN_COOLOFF_SECONDS=str(COOL_OFF_SECONDS),
        DEMUR_TOKEN_RATE="1000/minute",  # the lock-out, not the rate limit, is under test
    )
    base = f"http://127.0.0.1:{free_port}"
    with gunicorn(env, free_port, workers=3):
        # Each wrong guess claims to come from another address: none of them is believed.
        guesses = [
            token(base, researcher.username, "guess", forwarded_for=f"198.51.100.{n}")
            for n in range(LIMIT)
        ]
        assert [g.status_code for g in guesses] == [400] * (LIMIT - 1) + [429]
        assert "Too many failed logins" in guesses[-1].json()["detail"]
        assert int(guesses[-1].headers["Retry-After"]) > 0
        # The right password, from yet another "address", gets no token while locked out.
        locked = token(base, researcher.username, PASSWORD, forwarded_for="203.0.113.9")
        assert locked.status_code == 429
        assert "token" not in locked.json()
        # Every failure was counted against the address the connection came from.
        addresses = set(AccessAttempt.objects.values_list("ip_address", flat=True))
        assert addresses == {"127.0.0.1"}

        # The address is locked for everybody, on the login form too (another worker process).
        page = form_login(base, annotator.username, PASSWORD)
        assert page.status_code == 429
        assert "Too many failed logins" in page.text
        assert "try again in" in page.text

        time.sleep(COOL_OFF_SECONDS + 1)
        assert form_login(base, annotator.username, PASSWORD).status_code == 302
        unlocked = token(base, researcher.username, PASSWORD, forwarded_for="198.51.100.1")
        assert unlocked.status_code == 200
        assert unlocked.json()["token"]

        # The form alone: wrong passwords for one account, then the lock-out page.
        tries = [form_login(base, other.username, "guess") for _ in range(LIMIT)]
        assert [t.status_code for t in tries] == [200] * (LIMIT - 1) + [429]
        assert "didn&#x27;t match" in tries[0].text or "didn't match" in tries[0].text
        assert "Too many failed logins" in tries[-1].text
        assert form_login(base, other.username, PASSWORD).status_code == 429
        # What the README gives an admin to lift the lock-out early.
        lifted = manage("axes_reset", env=env)
        assert lifted.returncode == 0, lifted.stderr
        assert form_login(base, other.username, PASSWORD).status_code == 302
