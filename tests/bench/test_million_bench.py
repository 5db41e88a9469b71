"""bench/million.py run as a user runs it, at a tiny size, on the PostgreSQL server the tests
use: it must build its database, time every step, print the table and drop the database (the
full run's figures are in bench/RESULTS.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import psycopg
import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

STEPS = (
    "create campaign: all",
    "create campaign: random 200",
    "create campaign: stratified 200",
    "create campaign: judge disagreement 200",
    "label POST, annotator at the start",
    "label POST, annotator 1,000 items ahead",
    "campaign page, 500 labels",
    "agreement report, 500 labels",
    "run report, 2 judges x 2,000",
    "export_gold (JSON Lines), subprocess",
)


def test_a_tiny_run_times_every_step_and_drops_its_database() -> None:
    database = f"demur_million_smoke_{os.getpid()}"
    command = [sys.executable, "bench/million.py", "--responses", "2000", "--labels", "500"]
    command += ["--runs", "1", "--posts", "20", "--database", database]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    assert "2,000 responses, 4,000 verdicts and 500 labels loaded" in out
    # The "all" campaign has an item per response; a sample of a tenth, a tenth of them.
    assert re.search(r"create campaign: all: [\d.]+ s, 2,000 items", out), out
    assert re.search(r"create campaign: random 200: [\d.]+ s, 200 items", out), out
    # Each POST line says which prepared statements PostgreSQL still plans on every execution
    # (read from pg_prepared_statements on the bench's own connection).
    post_lines = [line for line in out.splitlines() if line.startswith("  label POST")]
    assert len(post_lines) == 2, out
    for line in post_lines:
        assert re.search(
            r"every prepared statement on its generic plan"
            r"|planned afresh each time: .+\(\d+ generic, \d+ custom plans\)",
            line,
        ), line
    assert "| step | median | target | | runs |" in out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    for step in STEPS:
        (row,) = [line for line in rows if line.startswith(f"| {step} |")]
        assert re.search(r"\| (met|\*\*missed\*\*) \|", row), row
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        left = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        assert left.fetchone() is None


def test_a_database_name_that_is_not_an_identifier_is_refused_in_one_sentence() -> None:
    command = [sys.executable, "bench/million.py", "--database", 'bench"; DROP']
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "--database 'bench\"; DROP': use lower-case letters, digits and underscores."
    )


def test_only_times_the_steps_named() -> None:
    database = f"demur_million_only_{os.getpid()}"
    command = [sys.executable, "bench/million.py", "--responses", "2000", "--labels", "500"]
    command += ["--runs", "1", "--only", "agreement-report", "--database", database]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0] == "| step | median | target | | runs |"
    assert [row.split(" | ")[0] for row in rows[1:]] == ["| agreement report, 500 labels"]


def test_only_steps_it_knows_are_timed() -> None:
    command = [sys.executable, "bench/million.py", "--only", "agreement-report,charts"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "argument --only: unknown step charts; choose from create, posts, campaign-page, "
        "agreement-report, run-report, export"
    )
