"""bench/annotator_quality.py run as a user runs it, in a shell from the repository root, in
its quick mode: it must finish and say that the pause rule's defaults and Dawid-Skene gold meet
their targets (the full run's figures are in bench/RESULTS.md)."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

TARGETS = (
    "TARGET random clickers paused within 15 checks >= 95%: met",
    "TARGET good annotators paused within 40 checks < 5%: met",
    "TARGET Dawid-Skene closer to the truth than majority vote: met",
)


def test_quick_run_prints_every_target_as_met():
    command = f"{shlex.quote(sys.executable)} bench/annotator_quality.py --quick"
    done = subprocess.run(
        ["bash", "-c", command], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    for target in TARGETS:
        assert target in lines, done.stdout
    assert "random clickers paused within 15 checks:" in done.stdout
    assert "Dawid-Skene" in done.stdout and "majority vote" in done.stdout
