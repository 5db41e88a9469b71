"""Helpers for tests that start the real programs: make, gunicorn, celery."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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

    def wait_for(self, condition: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"exited before {what}:\n{self.text[-4000:]}")
            time.sleep(0.25)
        raise AssertionError(f"no {what} after {timeout} s:\n{self.text[-4000:]}")

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
