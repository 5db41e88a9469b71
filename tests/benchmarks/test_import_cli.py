"""The import command as a shell user runs it, on the embedded SQLite database."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.processes import manage

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DEMUR_DATA_DIR"] = str(tmp_path)
    assert manage("migrate", "-v", "0", env=env).returncode == 0
    return env


def test_the_embedded_database_is_sqlite_in_wal_mode(sqlite_env: dict[str, str]) -> None:
    database = Path(sqlite_env["DEMUR_DATA_DIR"]) / "db.sqlite3"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_good_file_exits_0_and_a_bad_one_exits_1_with_one_sentence(
    sqlite_env: dict[str, str], samples_dir: Path, tmp_path: Path
) -> None:
    good = manage(
        "import_benchmark",
        str(samples_dir / "demur_sample.jsonl"),
        "--slug",
        "s",
        "--kind",
        "noncompliance",
        env=sqlite_env,
    )
    assert good.returncode == 0, good.stderr
    assert "30 prompts read; 30 new" in good.stdout

    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text('{"id": "x", "category": "c", "subcategory": "s", "prompt": "p"}\n{oops\n')
    bad = manage(
        "import_benchmark",
        str(bad_file),
        "--slug",
        "s",
        "--kind",
        "noncompliance",
        env=sqlite_env,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "CommandError: Line 2 of bad.jsonl is not valid JSON: Expecting property name enclosed "
        "in double quotes (column 2). Nothing was imported."
    ]
    with sqlite3.connect(Path(sqlite_env["DEMUR_DATA_DIR"]) / "db.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM benchmarks_prompt").fetchone() == (30,)
