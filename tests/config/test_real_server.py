"""What a real gunicorn sends and logs: HTTPS headers behind a TLS proxy, a Content-Security-
Policy on every page, and one log line per request fault (a 403, a client gone mid-request)."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest
import requests

from tests.config.real_server import gunicorn, logged_in_session, server_env
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(
    tmp_path: Path, free_port: int, static_root: Path
) -> None:
    env = server_env(tmp_path, static_root, DEMUR_BEHIND_TLS_PROXY="1", DEMUR_HSTS_SECONDS="600")
    base = f"http://127.0.0.1:{free_port}"
    with gunicorn(env, free_port):
        https = requests.get(
            base + "/accounts/login/", headers={"X-Forwarded-Proto": "https"}, timeout=10
        )
        assert https.status_code == 200
        assert https.headers["Strict-Transport-Security"] == "max-age=600"
        csrf_cookie = https.headers["Set-Cookie"]
        assert csrf_cookie.startswith("csrftoken=")
        assert "Secure" in csrf_cookie
        policy = https.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        # Plain HTTP (not through the proxy): no HSTS, which only an HTTPS answer may carry.
        plain = requests.get(base + "/accounts/login/", timeout=10)
        assert "Strict-Transport-Security" not in plain.headers
        assert "Content-Security-Policy" in plain.headers


def test_a_403_and_a_client_gone_mid_request_are_one_log_line_each(
    tmp_path: Path, free_port: int, static_root: Path, role_groups: None
) -> None:
    annotator = UserFactory.create(role="annotator")
    base = f"http://127.0.0.1:{free_port}"
    with gunicorn(server_env(tmp_path, static_root), free_port) as server:
        session = logged_in_session(base, annotator.username, PASSWORD)
        before = len(server.output)
        page = session.get(base + "/benchmarks/", timeout=10)
        assert page.status_code == 403
        assert "This page is for researchers." in page.text
        assert "Log out" in page.text
        server.wait_for(lambda: "Forbidden" in server.text, timeout=10, what="the 403 logged")
        forbidden = [line for line in server.output[before:] if "Forbidden" in line]
        assert forbidden == [forbidden[0]]
        assert "/benchmarks/" in forbidden[0]

        send_half_a_body_and_reset(free_port, "/api/token/")
        server.wait_for(lambda: "went away" in server.text, timeout=10, what="the reset logged")
        time.sleep(0.5)  # anything else it would write about that request
        log = "".join(server.output[before:])
        assert "Traceback" not in log
        assert len([line for line in log.splitlines() if "went away" in line]) == 1


def send_half_a_body_and_reset(port: int, path: str) -> None:
    """A browser tab closed while it uploads: headers promising a body, part of it, then a
    TCP reset while the server waits for the rest."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n"
        )
        connection.sendall(head.encode() + b'{"username": "x", "password": "')
        time.sleep(1)  # the server is now reading the body
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
