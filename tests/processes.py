"""Helpers for tests that start the real programs: make, gunicorn, celery."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.db import OperationalError as DatabaseNotReady

REPO = Path(__file__).resolve().parent.parent

# What a condition raises while what it waits for is not there yet, on a loaded machine as much
# as on an idle one: a server not listening yet (connection refused), one too busy to answer in
# time (read timeout), a database file not migrated yet or locked by a writer. requests' and
# urllib's errors are OSErrors. They mean "ask again", until the wait's own deadline.
NOT_YET: tuple[type[Exception], ...] = (OSError, sqlite3.OperationalError, DatabaseNotReady)


def poll(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.25,
    exited: Callable[[], bool] = lambda: False,
    output: Callable[[], str] = lambda: "",
) -> None:
    """Ask ``condition`` until it is true; a NOT_YET error counts as false. Fails with the last
    such error when the deadline passes, or at once when ``exited`` says the program is gone."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except NOT_YET as error:
            last_error = error
        if exited():
            raise AssertionError(f"exited before {what}:\n{output()[-4000:]}")
        time.sleep(interval)
    because = f" (last: {last_error!r})" if last_error is not None else ""
    raise AssertionError(f"no {what} after {timeout} s{because}:\n{output()[-4000:]}")


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class Background:
    """A process group started in the background, its output collected as it comes."""

    def __init__(self, command: list[str], *, env: dict[str, str]) -> None:
        self.output: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a terminal gives `make demo`
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def wait_for(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float,
        what: str,
        interval: float = 0.25,
    ) -> None:
        """Until ``condition`` holds (errors that mean "not yet" included), while this runs."""
        poll(
            condition,
            timeout=timeout,
            what=what,
            interval=interval,
            exited=lambda: self.process.poll() is not None,
            output=lambda: self.text,
        )

    def interrupt(self, *, timeout: float = 60) -> int:
        """Ctrl-C: SIGINT to the whole group, then wait until every process it started is gone
        (honcho puts each of its processes in a session of its own, so the group is not enough).
        """
        started = descendants(self.process.pid)
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while running(started):
            if time.monotonic() > deadline:
                raise AssertionError(f"processes left running after Ctrl-C:\n{self.text[-3000:]}")
            time.sleep(0.25)
        return code

    def kill(self) -> None:
        """SIGKILL for the process and everything under it, wherever honcho put it."""
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def descendants(pid: int) -> list[int]:
    table = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in table.splitlines():
        child, parent = (int(field) for field in line.split())
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pids: list[int]) -> bool:
    """Whether any of the processes still runs (zombies count as gone: they hold no port)."""
    if not pids:
        return False
    states = subprocess.run(
        ["ps", "-o", "stat=", "-p", ",".join(map(str, pids))], capture_output=True, text=True
    ).stdout.split()
    return any(not state.startswith("Z") for state in states)
