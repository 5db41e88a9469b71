"""Helpers for tests that start the real programs: make, gunicorn, celery."""

from __future__ import annotations

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
        """Ctrl-C: SIGINT to the whole group, then wait for the group to be empty."""
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while group_alive(self.process.pid):
            if time.monotonic() > deadline:
                raise AssertionError(f"processes left running after Ctrl-C:\n{self.text[-3000:]}")
            time.sleep(0.25)
        return code

    def kill(self) -> None:
        if group_alive(self.process.pid):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies count as gone: only processes that still run hold ports and files.
    states = subprocess.run(
        ["ps", "-o", "stat=", "-g", str(pgid)], capture_output=True, text=True
    ).stdout.split()
    return any(not state.startswith("Z") for state in states)
