"""The wait loops of tests that start real programs: on a loaded machine a server that is slow to
answer, or not listening yet, is "not up yet", never the end of the test."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.processes import Background, poll


def failing_first(*errors: Exception) -> tuple[Callable[[], bool], list[int]]:
    """A condition that raises each of ``errors`` in turn, then holds; and its call count."""
    calls = [0]

    def condition() -> bool:
        calls[0] += 1
        if calls[0] <= len(errors):
            raise errors[calls[0] - 1]
        return True

    return condition, calls


def test_timeouts_and_refused_connections_are_retried_until_the_condition_holds() -> None:
    condition, calls = failing_first(
        requests.ReadTimeout("read timed out (2 s)"),
        requests.ConnectionError("connection refused"),
        ConnectionRefusedError(111, "Connection refused"),
        sqlite3.OperationalError("database is locked"),
    )
    poll(condition, timeout=10, what="the server", interval=0.01)
    assert calls[0] == 5


def test_a_condition_that_never_holds_fails_at_its_deadline_naming_the_last_error() -> None:
    condition, calls = failing_first(*[requests.ReadTimeout("read timed out")] * 10_000)
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"no healthz after 0.3 s \(last: ReadTimeout"):
        poll(condition, timeout=0.3, what="healthz", interval=0.01)
    assert time.monotonic() - started >= 0.3
    assert calls[0] > 1


def test_other_errors_still_end_the_wait_at_once() -> None:
    """A bug in the test (a KeyError, a failed assert) is not something to wait out."""
    condition, calls = failing_first(KeyError("status"))
    with pytest.raises(KeyError):
        poll(condition, timeout=10, what="the server", interval=0.01)
    assert calls[0] == 1


class SlowFirstAnswer(BaseHTTPRequestHandler):
    """Answers /healthz, the first time only after longer than the client waits: a server busy
    starting up on a machine with every core taken."""

    answered = 0

    def do_GET(self) -> None:
        SlowFirstAnswer.answered += 1
        if SlowFirstAnswer.answered == 1:
            time.sleep(1.0)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def slow_server() -> Iterator[str]:
    SlowFirstAnswer.answered = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowFirstAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_real_read_timeout_while_a_program_runs_counts_as_not_up_yet() -> None:
    program = Background([sys.executable, "-c", "import time; time.sleep(30)"], env={})
    try:
        with slow_server() as base:

            def up() -> bool:
                return requests.get(base + "healthz", timeout=0.3).status_code == 200

            program.wait_for(up, timeout=20, what="web server answering", interval=0.05)
            assert SlowFirstAnswer.answered >= 2  # the first request timed out, a later one got in
    finally:
        program.kill()


def test_a_program_that_exits_ends_the_wait_with_its_output() -> None:
    program = Background([sys.executable, "-c", "print('no port for me')"], env={})
    condition, _ = failing_first(*[requests.ConnectionError("refused")] * 10_000)
    with pytest.raises(AssertionError, match="exited before web server answering"):
        program.wait_for(condition, timeout=20, what="web server answering")
    assert "no port for me" in program.text
